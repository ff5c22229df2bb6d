package infobloxcni.wapisim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A self-signed server certificate, made in-process: EC P-256 / SHA256withECDSA, CN infoblox-wapi-sim,
 * valid from a day ago for 825 days, subject alternative names for the bind address, 127.0.0.1 and
 * localhost, key usage digitalSignature + keyCertSign, extended key usage serverAuth, a subject key
 * identifier. The certificate is its own trust anchor: trust the PEM and the server verifies, host name
 * included. Made once per JVM and set of names, so many simulators in one test run share it; the PEM
 * lives in a temp directory deleted at JVM exit.
 *
 * <p>The X.509 structure is built by Bouncy Castle's {@code bcpkix} ({@link X509v3CertificateBuilder});
 * key generation and signing stay with the JDK's own providers (Bouncy Castle is not registered as
 * one). okhttp-tls's {@code HeldCertificate} (4.12.0, the okhttp version this project uses) was checked
 * first and does not fit: its builder writes only basic constraints and subject alternative names, so a
 * certificate from it has no extended key usage, no key usage and no subject key identifier
 * ({@code getExtendedKeyUsage()} is null), while this certificate is documented, and tested
 * ({@code HttpsTest}), as a serverAuth certificate.
 */
final class SelfSignedCert {
    private static final Map<String, SelfSignedCert> CACHE = new ConcurrentHashMap<>();
    private static final String COMMON_NAME = "infoblox-wapi-sim";
    private static final Duration VALIDITY = Duration.ofDays(825);

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

            X509Certificate cert = certificate(kp, names, random);
            cert.verify(kp.getPublic());

            byte[] pw = new byte[18];
            random.nextBytes(pw);
            char[] password = Base64.getEncoder().encodeToString(pw).toCharArray();
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry(COMMON_NAME, kp.getPrivate(), password, new X509Certificate[] {cert});

            Path dir = Files.createTempDirectory("infoblox-wapi-sim-tls-");
            dir.toFile().deleteOnExit();
            Path pem = dir.resolve("ca.pem");
            String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                    .encodeToString(cert.getEncoded());
            Files.writeString(
                    pem,
                    "-----BEGIN CERTIFICATE-----\n" + body + "\n-----END CERTIFICATE-----\n",
                    StandardCharsets.US_ASCII);
            pem.toFile().deleteOnExit();
            return new SelfSignedCert(pem, store, password);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the simulator's TLS certificate", e);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot generate the simulator's TLS certificate", e);
        }
    }

    private static X509Certificate certificate(KeyPair kp, TreeSet<String> names, SecureRandom random)
            throws GeneralSecurityException, IOException, OperatorCreationException {
        byte[] serial = new byte[16];
        random.nextBytes(serial);
        serial[0] &= 0x7F;
        serial[0] |= 0x40; // positive, full length
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        X500Name subject = new X500Name("CN=" + COMMON_NAME);
        GeneralName[] altNames = names.stream()
                .map(n -> new GeneralName(looksLikeIp(n) ? GeneralName.iPAddress : GeneralName.dNSName, n))
                .toArray(GeneralName[]::new);
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                        subject,
                        new BigInteger(serial),
                        Date.from(now.minus(Duration.ofDays(1))),
                        Date.from(now.plus(VALIDITY)),
                        subject,
                        kp.getPublic())
                .addExtension(
                        Extension.subjectKeyIdentifier,
                        false,
                        new JcaX509ExtensionUtils().createSubjectKeyIdentifier(kp.getPublic()))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyCertSign))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(altNames));
        return new JcaX509CertificateConverter()
                .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
    }

    static boolean looksLikeIp(String s) {
        return Ipv4.isValid(s) || s.contains(":");
    }
}
