package infobloxcni.wapisim;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A self-signed server certificate, made in-process with the JDK's own crypto (no keytool process):
 * EC P-256 / SHA256withECDSA, CN infoblox-wapi-sim, valid from a day ago for 825 days, subject
 * alternative names for the bind address, 127.0.0.1 and localhost, key usage digitalSignature +
 * keyCertSign, extended key usage serverAuth. The certificate is its own trust anchor: trust the PEM and
 * the server verifies, host name included. Made once per JVM and set of names, so many simulators in one
 * test run share it; the PEM lives in a temp directory deleted at JVM exit.
 */
final class SelfSignedCert {
    private static final Map<String, SelfSignedCert> CACHE = new ConcurrentHashMap<>();

    private final Path pem;
    private final KeyStore keyStore;
    private final char[] password;

    private SelfSignedCert(Path pem, KeyStore keyStore, char[] password) {
        this.pem = pem;
        this.keyStore = keyStore;
        this.password = password;
    }

    /** The certificate for these host names / addresses, generated on first use. */
    static SelfSignedCert forNames(List<String> names) {
        TreeSet<String> sorted = new TreeSet<>(names);
        sorted.add("127.0.0.1");
        sorted.add("localhost");
        String key = String.join(",", sorted);
        return CACHE.computeIfAbsent(key, k -> generate(sorted));
    }

    Path pem() {
        return pem;
    }

    SSLContext sslContext() {
        try {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keyStore, password);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build the TLS context", e);
        }
    }

    private static SelfSignedCert generate(TreeSet<String> names) {
        try {
            SecureRandom random = new SecureRandom();
            KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
            kpg.initialize(new ECGenParameterSpec("secp256r1"), random);
            KeyPair kp = kpg.generateKeyPair();

            byte[] der = certificate(kp, names, random);
            X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
            cert.verify(kp.getPublic());

            byte[] pw = new byte[18];
            random.nextBytes(pw);
            char[] password = Base64.getEncoder().encodeToString(pw).toCharArray();
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("infoblox-wapi-sim", kp.getPrivate(), password, new X509Certificate[]{cert});

            Path dir = Files.createTempDirectory("infoblox-wapi-sim-tls-");
            dir.toFile().deleteOnExit();
            Path pem = dir.resolve("ca.pem");
            String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
            Files.writeString(pem, "-----BEGIN CERTIFICATE-----\n" + body + "\n-----END CERTIFICATE-----\n",
                    StandardCharsets.US_ASCII);
            pem.toFile().deleteOnExit();
            return new SelfSignedCert(pem, store, password);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the simulator's TLS certificate", e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate the simulator's TLS certificate", e);
        }
    }

    // ------------------------------------------------------------------ X.509 in DER

    private static final String OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2";
    private static final String OID_CN = "2.5.4.3";
    private static final String OID_SKI = "2.5.29.14";
    private static final String OID_KEY_USAGE = "2.5.29.15";
    private static final String OID_SAN = "2.5.29.17";
    private static final String OID_EKU = "2.5.29.37";
    private static final String OID_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

    private static byte[] certificate(KeyPair kp, TreeSet<String> names, SecureRandom random)
            throws GeneralSecurityException, IOException {
        byte[] serialBytes = new byte[16];
        random.nextBytes(serialBytes);
        serialBytes[0] &= 0x7F;
        serialBytes[0] |= 0x40; // positive, full length
        byte[] algorithm = seq(oid(OID_ECDSA_SHA256));
        byte[] name = seq(set(seq(oid(OID_CN), tlv(0x0C, "infoblox-wapi-sim".getBytes(StandardCharsets.UTF_8)))));
        ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC).withNano(0);
        byte[] validity = seq(time(now.minusDays(1)), time(now.plusDays(825)));
        byte[] spki = kp.getPublic().getEncoded(); // already a SubjectPublicKeyInfo

        List<byte[]> generalNames = new ArrayList<>();
        for (String n : names) {
            if (SelfSignedCert.looksLikeIp(n)) {
                generalNames.add(tlv(0x87, InetAddress.getByName(n).getAddress()));  // [7] iPAddress
            } else {
                generalNames.add(tlv(0x82, n.getBytes(StandardCharsets.US_ASCII)));  // [2] dNSName
            }
        }
        byte[] ski = MessageDigest.getInstance("SHA-1").digest(spki);
        byte[] extensions = seq(
                extension(OID_SKI, false, tlv(0x04, Arrays.copyOf(ski, 20))),
                // digitalSignature (bit 0) + keyCertSign (bit 5): 1000 0100, 2 unused bits
                extension(OID_KEY_USAGE, true, tlv(0x03, new byte[]{0x02, (byte) 0x84})),
                extension(OID_EKU, false, seq(oid(OID_SERVER_AUTH))),
                extension(OID_SAN, false, seq(generalNames.toArray(byte[][]::new))));
        byte[] tbs = seq(
                tlv(0xA0, tlv(0x02, new byte[]{2})),     // [0] version v3
                tlv(0x02, new BigInteger(serialBytes).toByteArray()),
                algorithm, name, validity, name, spki,
                tlv(0xA3, extensions));                  // [3] extensions
        Signature signer = Signature.getInstance("SHA256withECDSA");
        signer.initSign(kp.getPrivate());
        signer.update(tbs);
        byte[] signature = signer.sign();                // DER ECDSA-Sig-Value
        byte[] bits = new byte[signature.length + 1];     // BIT STRING, 0 unused bits
        System.arraycopy(signature, 0, bits, 1, signature.length);
        return seq(tbs, algorithm, tlv(0x03, bits));
    }

    private static byte[] extension(String oid, boolean critical, byte[] value) {
        return critical ? seq(oid(oid), tlv(0x01, new byte[]{(byte) 0xFF}), tlv(0x04, value))
                : seq(oid(oid), tlv(0x04, value));
    }

    private static byte[] time(ZonedDateTime t) {
        if (t.getYear() < 2050) {
            return tlv(0x17, t.format(DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'")).getBytes(StandardCharsets.US_ASCII));
        }
        return tlv(0x18, t.format(DateTimeFormatter.ofPattern("yyyyMMddHHmmss'Z'")).getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] oid(String dotted) {
        String[] parts = dotted.split("\\.");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(Integer.parseInt(parts[0]) * 40 + Integer.parseInt(parts[1]));
        for (int i = 2; i < parts.length; i++) {
            long v = Long.parseLong(parts[i]);
            byte[] tmp = new byte[10];
            int n = 0;
            do {
                tmp[n++] = (byte) (v & 0x7F);
                v >>>= 7;
            } while (v != 0);
            for (int j = n - 1; j >= 0; j--) out.write(tmp[j] | (j > 0 ? 0x80 : 0));
        }
        return tlv(0x06, out.toByteArray());
    }

    private static byte[] seq(byte[]... items) {
        return tlv(0x30, concat(items));
    }

    private static byte[] set(byte[]... items) {
        return tlv(0x31, concat(items));
    }

    private static byte[] concat(byte[]... items) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] b : items) out.writeBytes(b);
        return out.toByteArray();
    }

    private static byte[] tlv(int tag, byte[] value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        int len = value.length;
        if (len < 0x80) {
            out.write(len);
        } else if (len < 0x100) {
            out.write(0x81);
            out.write(len);
        } else if (len < 0x10000) {
            out.write(0x82);
            out.write(len >> 8);
            out.write(len & 0xFF);
        } else {
            out.write(0x83);
            out.write(len >> 16);
            out.write((len >> 8) & 0xFF);
            out.write(len & 0xFF);
        }
        out.writeBytes(value);
        return out.toByteArray();
    }

    static boolean looksLikeIp(String s) {
        return Ipv4.isValid(s) || s.contains(":");
    }
}
