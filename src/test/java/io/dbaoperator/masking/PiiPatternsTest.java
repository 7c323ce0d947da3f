package io.dbaoperator.masking;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.dbaoperator.masking.PiiDiscovery.Kind;

/** The value and name rules of {@link PiiDiscovery}, pure. */
class PiiPatternsTest {

    @Test
    void checkDigitsDecideCardsAndIbansNotTheirShapeAlone() {
        assertThat(PiiDiscovery.luhn("4111 1111 1111 1111")).isTrue();
        assertThat(PiiDiscovery.luhn("4111 1111 1111 1112")).isFalse();
        assertThat(PiiDiscovery.luhn("0000000000000000")).as("one digit repeated is no card").isFalse();
        assertThat(PiiDiscovery.ibanValid("DE89 3704 0044 0532 0130 00")).isTrue();
        assertThat(PiiDiscovery.ibanValid("DE89 3704 0044 0532 0130 01")).isFalse();
        assertThat(PiiDiscovery.kindOf("GB82WEST12345698765432")).isEqualTo(Kind.Iban);
        assertThat(PiiDiscovery.kindOf("5555-5555-5555-4444")).isEqualTo(Kind.CardNumber);
        assertThat(PiiDiscovery.kindOf("5555-5555-5555-4445")).isNull();
    }

    @Test
    void wholeValuesAndValuesWithinText() {
        assertThat(PiiDiscovery.kindOf("jane.doe+news@example.co.uk")).isEqualTo(Kind.Email);
        assertThat(PiiDiscovery.kindOf("+44 20 7946 0958")).isEqualTo(Kind.Phone);
        assertThat(PiiDiscovery.kindOf("(030) 901820-11")).isEqualTo(Kind.Phone);
        assertThat(PiiDiscovery.kindOf("20261206")).as("a bare number is no phone").isNull();
        assertThat(PiiDiscovery.kindOf("192.168.10.254")).isEqualTo(Kind.IpAddress);
        assertThat(PiiDiscovery.kindOf("2001:db8::8a2e:370:7334")).isEqualTo(Kind.IpAddress);
        assertThat(PiiDiscovery.kindOf("999.1.1.1")).isNull();
        assertThat(PiiDiscovery.kindOf("078-05-1120")).isEqualTo(Kind.NationalId);
        assertThat(PiiDiscovery.kindOf("order 42 shipped")).isNull();
        assertThat(PiiDiscovery.kindWithin("please call me back, my card is 4111-1111-1111-1111 thanks"))
                .isEqualTo(Kind.CardNumber);
        assertThat(PiiDiscovery.kindWithin("reply to bob@example.org about the refund")).isEqualTo(Kind.Email);
        assertThat(PiiDiscovery.kindWithin("the parcel weighs 1200 g")).isNull();
    }

    @Test
    void namesSayWhatTheyHoldButNotInsideOtherWords() {
        assertThat(PiiDiscovery.byName("customer_email")).isEqualTo(Kind.Email);
        assertThat(PiiDiscovery.byName("mobile_phone")).isEqualTo(Kind.Phone);
        assertThat(PiiDiscovery.byName("last_name")).isEqualTo(Kind.Name);
        assertThat(PiiDiscovery.byName("date_of_birth")).isEqualTo(Kind.BirthDate);
        assertThat(PiiDiscovery.byName("remote_addr")).isEqualTo(Kind.IpAddress);
        assertThat(PiiDiscovery.byName("zip")).isEqualTo(Kind.Address);
        assertThat(PiiDiscovery.byName("shipping_method")).isNull();
        assertThat(PiiDiscovery.byName("hotel")).isNull();
        assertThat(PiiDiscovery.byName("product_name")).isNull();
    }

    @Test
    void aSampleCountsWhenAShareOfItMatches() {
        List<String> values = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            values.add(i < 30 ? "user" + i + "@example.org" : "no address given");
        }
        var found = PiiDiscovery.bySample(values);
        assertThat(found.getKey()).isEqualTo(Kind.Email);
        assertThat(found.getValue()).isEqualTo("30 of 100 sampled values are e-mail addresses")
                .doesNotContain("@");
        List<String> few = new ArrayList<>(values.subList(30, 100));
        few.addAll(List.of("a@b.example", "c@d.example"));
        assertThat(PiiDiscovery.bySample(few)).as("2 of 72 is below the share").isNull();
        List<String> notes = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            notes.add(i < 4 ? "customer asked to be called on +49 30 901820 " + i : "delivered to the front door");
        }
        assertThat(PiiDiscovery.bySample(notes).getValue()).isEqualTo("4 of 40 sampled values contain phone numbers "
                + "within free text");
    }
}
