package infobloxcni.wapisim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

class HttpsTest {
    static SSLContext trusting(java.nio.file.Path pem) throws Exception {
        X509Certificate cert;
        try (InputStream in = Files.newInputStream(pem)) {
            cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        KeyStore ts = KeyStore.getInstance(KeyStore.getDefaultType());
        ts.load(null, null);
        ts.setCertificateEntry("wapi-sim", cert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    @Test
    void httpsWithTheGeneratedCertificateTrustedFromItsPem() throws Exception {
        try (WapiSimulator sim = WapiSimulator.builder().https(true).build().start()) {
            assertTrue(sim.baseUrl().startsWith("https://127.0.0.1:"), sim.baseUrl());
            String pem = Files.readString(sim.caCertificatePem());
            assertTrue(pem.startsWith("-----BEGIN CERTIFICATE-----\n") && pem.endsWith("-----END CERTIFICATE-----\n"));

            X509Certificate cert;
            try (InputStream in = Files.newInputStream(sim.caCertificatePem())) {
                cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            }
            cert.checkValidity();
            assertEquals("CN=infoblox-wapi-sim", cert.getSubjectX500Principal().getName());
            assertEquals(cert.getSubjectX500Principal(), cert.getIssuerX500Principal());
            assertEquals("[[7, 127.0.0.1], [2, localhost]]", String.valueOf(cert.getSubjectAlternativeNames()));
            assertEquals(java.util.List.of("1.3.6.1.5.5.7.3.1"), cert.getExtendedKeyUsage());
            cert.verify(cert.getPublicKey());

            HttpClient trusted = HttpClient.newBuilder()
                    .sslContext(trusting(sim.caCertificatePem()))
                    .build();
            TestClient c = new TestClient(sim, trusted, "admin", "infoblox");
            TestClient.Resp r = c.get("networkview");
            assertEquals(200, r.status(), r.body());
            assertTrue(r.headers().firstValue("Set-Cookie").orElseThrow().endsWith("; secure"));
            assertEquals(201, c.post("network", "{\"network\":\"10.0.0.0/24\"}").status());
            for (int i = 0; i < 5; i++) c.get("network");
            assertEquals(1, sim.connectionsAccepted(), "keep-alive over TLS");

            TestClient untrusted = new TestClient(sim, HttpClient.newHttpClient(), "admin", "infoblox");
            IOException e = assertThrows(IOException.class, () -> untrusted.get("network"));
            assertTrue(
                    e instanceof SSLHandshakeException || e.getCause() instanceof SSLHandshakeException, e.toString());

            // faults work over TLS as well: a lost response surfaces as an IOException
            sim.faults().dropAfterApplyingNext(1, "POST");
            assertThrows(IOException.class, () -> c.post("network", "{\"network\":\"10.0.1.0/24\"}"));
            assertEquals(2, sim.objects("network").size());
        }
    }
}
