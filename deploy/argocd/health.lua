-- Argo CD health for the dba-operator kinds (DatabaseMigration, BackupPolicy, BackupRestore, QueryTuningRequest,
-- DisposalJob, DatabaseMaintenance). One script for all six: they share status.phase, status.conditions and
-- status.approvalRequest.
-- Suspended while a person must approve, Degraded on failure, Healthy when done (or active), else Progressing.
local hs = {}
local function condition(type)
  if obj.status ~= nil and obj.status.conditions ~= nil then
    for _, c in ipairs(obj.status.conditions) do
      if c.type == type then return c end
    end
  end
  return nil
end

if obj.status == nil or obj.status.phase == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the operator"
  return hs
end
local phase = obj.status.phase
local message = obj.status.message or phase
if obj.metadata.generation ~= nil and obj.status.observedGeneration ~= nil
    and obj.status.observedGeneration < obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "the operator has not seen generation " .. obj.metadata.generation .. " yet"
  return hs
end
if phase == "Failed" or phase == "Rejected" or phase == "RolledBack" or phase == "Degraded" then
  hs.status = "Degraded"
  hs.message = phase .. ": " .. message
  return hs
end
local ready = condition("Ready")
if phase == "Suspended" or (ready ~= nil and ready.reason == "Paused") then
  hs.status = "Suspended"
  hs.message = message
  return hs
end
if obj.status.approvalRequest ~= nil and obj.status.approvalRequest.step ~= nil then
  hs.status = "Suspended"
  hs.message = "waiting for approval of step " .. obj.status.approvalRequest.step .. ": "
    .. (obj.status.approvalRequest.command or "")
  return hs
end
if obj.kind == "BackupPolicy" then
  for _, type in ipairs({"LastBackupSucceeded", "WalArchiving", "RestoreTestPassed"}) do
    local c = condition(type)
    if c ~= nil and c.status == "False" and c.reason ~= "WalArchiverStarting" and c.reason ~= "BackupRunning" then
      hs.status = "Degraded"
      hs.message = type .. ": " .. (c.message or c.reason or "")
      return hs
    end
  end
  if phase == "Active" then
    hs.status = "Healthy"
    hs.message = message
    return hs
  end
end
if obj.kind == "BackupRestore" and phase == "Waiting" then
  -- a staging refresh between runs: Degraded while its last run failed (the previous copy still serves)
  local c = condition("StagingRefreshed")
  if c ~= nil and c.status == "False" then
    hs.status = "Degraded"
    hs.message = "StagingRefreshed: " .. (c.message or c.reason or "")
    return hs
  end
  hs.status = "Healthy"
  hs.message = message
  return hs
end
if phase == "Completed" or phase == "Ready" or phase == "Scheduled" or phase == "Monitoring"
    or phase == "Recommended" or phase == "NoRecommendation" then
  hs.status = "Healthy"
  hs.message = message
  return hs
end
hs.status = "Progressing"
hs.message = message
return hs
