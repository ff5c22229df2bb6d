package infobloxcni.wapi;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The original driver's {@code --ssl-verify false|true|<CA file>}, with one difference that
 * matters: a CA file that is missing or unreadable is an error at startup, never a silent
 * fallback to "no verification".
 */
public sealed interface SslVerify {

    /** Verify against the JDK's default trust store. The default. */
    record System() implements SslVerify {
        @Override
        public String toString() {
            return "true";
        }
    }

    /** Do not verify the grid's certificate (explicit opt-out only). */
    record Disabled() implements SslVerify {
        @Override
        public String toString() {
            return "false";
        }
    }

    /** Verify against the certificates in this PEM or DER file. */
    record CaFile(Path path) implements SslVerify {
        @Override
        public String toString() {
            return path.toString();
        }
    }

    static SslVerify parse(String value) {
        if (value == null || value.isBlank() || value.equalsIgnoreCase("true")) return new System();
        if (value.equalsIgnoreCase("false")) return new Disabled();
        Path path = Path.of(value);
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException("--ssl-verify: CA file " + path + " does not exist or is not a file");
        }
        if (!Files.isReadable(path)) {
            throw new IllegalArgumentException("--ssl-verify: CA file " + path + " is not readable");
        }
        CaFile ca = new CaFile(path);
        ca.trustManager(); // fail now, at startup, on a file that holds no certificate
        return ca;
    }

    /** The trust manager to use, or null for the JDK default. */
    default X509TrustManager trustManager() {
        return switch (this) {
            case System s -> null;
            case Disabled d -> TRUST_ALL;
            case CaFile(Path path) -> trustManagerFor(path);
        };
    }

    private static X509TrustManager trustManagerFor(Path path) {
        try (InputStream in = Files.newInputStream(path)) {
            Collection<? extends Certificate> certs =
                    CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (certs.isEmpty()) {
                throw new IllegalArgumentException("--ssl-verify: " + path + " holds no certificate");
            }
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            int i = 0;
            for (Certificate cert : certs) store.setCertificateEntry("ca-" + i++, cert);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509TrustManager x509) return x509;
            }
            throw new IllegalStateException("no X509TrustManager available");
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException(
                    "--ssl-verify: cannot read CA certificates from " + path + ": " + e.getMessage(), e);
        }
    }

    /** Builds a TLS context for a non-default trust manager. */
    static SSLContext sslContext(X509TrustManager trustManager) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {trustManager}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot initialise TLS", e);
        }
    }

    X509TrustManager TRUST_ALL = new X509TrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    };
}
