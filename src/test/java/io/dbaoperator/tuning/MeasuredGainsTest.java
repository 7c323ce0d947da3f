package io.dbaoperator.tuning;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.tuning.QueryTuningRequestStatus.MeasuredGain;

/** The closed loop's verdict from pg_stat_statements' counters before and after an index, on numbers alone. */
class MeasuredGainsTest {

    static MeasuredGain baseline(long calls, double totalMs) {
        MeasuredGain m = new MeasuredGain();
        m.queryId = "42";
        m.callsBefore = calls;
        m.totalMsAtApply = totalMs;
        m.meanMsBefore = calls == 0 ? null : totalMs / calls;
        return m;
    }

    @Test
    void theMeanOverTheCallsSinceTheIndexAgainstTheMeanBefore() {
        MeasuredGain m = baseline(100, 5000); // 50 ms each
        MeasuredGains.judge(m, 120L, 5000 + 20 * 5.0, true, 10); // 20 more calls of 5 ms
        assertThat(m.callsAfter).isEqualTo(20);
        assertThat(m.meanMsAfter).isEqualTo(5.0);
        assertThat(m.gainPercent).isEqualTo(90.0);
        assertThat(m.verdict).isEqualTo("improved");
        assertThat(MeasuredGains.noGain(m, true)).isFalse();
    }

    @Test
    void lessThanTheMinimumIsNoGain_AsMuchTheOtherWayIsARegression_UnusedIsUnused() {
        MeasuredGain flat = baseline(100, 5000);
        MeasuredGains.judge(flat, 110L, 5000 + 10 * 48.0, true, 10);
        assertThat(flat.verdict).isEqualTo("no gain");
        assertThat(MeasuredGains.noGain(flat, true)).isTrue();
        MeasuredGain worse = baseline(100, 5000);
        MeasuredGains.judge(worse, 110L, 5000 + 10 * 60.0, true, 10);
        assertThat(worse.gainPercent).isEqualTo(-20.0);
        assertThat(worse.verdict).isEqualTo("regression");
        MeasuredGain unused = baseline(100, 5000);
        MeasuredGains.judge(unused, 110L, 5000 + 10 * 50.0, false, 10);
        assertThat(unused.verdict).isEqualTo("unused");
        assertThat(MeasuredGains.noGain(unused, false)).isTrue();
    }

    @Test
    void countersThatWentBackOrTooFewCallsConcludeNothing() {
        MeasuredGain reset = baseline(100, 5000);
        MeasuredGains.judge(reset, 30L, 900.0, true, 10);
        assertThat(reset.verdict).isEqualTo("not measured: the statistics were reset during the follow-up");
        assertThat(reset.gainPercent).isNull();
        assertThat(MeasuredGains.noGain(reset, true)).isFalse();
        MeasuredGain few = baseline(100, 5000);
        MeasuredGains.judge(few, 102L, 5010.0, true, 10);
        assertThat(few.verdict).startsWith("not measured: 2 call(s)");
        MeasuredGain never = baseline(0, 0);
        MeasuredGains.judge(never, 50L, 100.0, true, 10);
        assertThat(never.verdict).isEqualTo("not measured: the statement had not run before the index");
    }
}
