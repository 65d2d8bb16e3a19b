// A JSSE client for crates/transport/tests/peers.rs: connects twice with one SSLContext, which
// caches sessions and offers them again (a session ID or ticket in TLS 1.2, a PSK in TLS 1.3),
// and prints one line per connection.
//
// The signal for "resumed" is the trust manager: a full handshake hands the server's chain to
// checkServerTrusted, a resumed one does not. That holds for TLS 1.2 and 1.3 alike, unlike
// session IDs (TLS 1.3 has none worth comparing) or debug output (its wording changes).
//
// Usage: java ResumeProbe <port> <TLSv1.2|TLSv1.3> <certificates.pem> <key.pem> <ca.pem>

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

public final class ResumeProbe {
    private static final String MESSAGE = "hello from java";

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        String protocol = args[1];
        List<X509Certificate> chain = certificates(Paths.get(args[2]));
        PrivateKey key = privateKey(Paths.get(args[3]));
        List<X509Certificate> cas = certificates(Paths.get(args[4]));
        // Only an in-memory key store: nothing is written to disk.
        char[] password = "in-memory".toCharArray();

        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("node", key, password, chain.toArray(new X509Certificate[0]));
        KeyManagerFactory kmf =
                KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, password);

        KeyStore anchors = KeyStore.getInstance("PKCS12");
        anchors.load(null, null);
        for (int i = 0; i < cas.size(); i++) {
            anchors.setCertificateEntry("ca" + i, cas.get(i));
        }
        TrustManagerFactory tmf =
                TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(anchors);
        X509ExtendedTrustManager pkix = null;
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509ExtendedTrustManager) {
                pkix = (X509ExtendedTrustManager) tm;
            }
        }
        AtomicInteger chainChecks = new AtomicInteger();
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(
                kmf.getKeyManagers(),
                new TrustManager[] {new CountingTrustManager(pkix, chainChecks)},
                null);

        byte[] firstId = null;
        for (int attempt = 1; attempt <= 2; attempt++) {
            int before = chainChecks.get();
            try (Socket tcp = new Socket()) {
                tcp.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
                tcp.setSoTimeout(10_000);
                // The same peer host and port both times: the key of JSSE's client session cache.
                SSLSocket tls = (SSLSocket) context.getSocketFactory()
                        .createSocket(tcp, "localhost", port, true);
                tls.setEnabledProtocols(new String[] {protocol});
                SSLParameters params = tls.getSSLParameters();
                params.setEndpointIdentificationAlgorithm("HTTPS");
                tls.setSSLParameters(params);
                tls.startHandshake();
                OutputStream out = tls.getOutputStream();
                out.write((MESSAGE + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                // Reading the echo also takes in any ticket the server sent after the handshake.
                BufferedReader in = new BufferedReader(
                        new InputStreamReader(tls.getInputStream(), StandardCharsets.UTF_8));
                String echoed = in.readLine();
                SSLSession session = tls.getSession();
                byte[] id = session.getId();
                if (attempt == 1) {
                    firstId = id;
                }
                boolean sameId = attempt > 1 && id.length > 0 && Arrays.equals(id, firstId);
                System.out.println("connection=" + attempt
                        + " protocol=" + session.getProtocol()
                        + " echoed=" + MESSAGE.equals(echoed)
                        + " chain_checks=" + (chainChecks.get() - before)
                        + " session_id_length=" + id.length
                        + " same_session_id=" + sameId);
                tls.close();
            }
        }
    }

    private static List<X509Certificate> certificates(Path path) throws Exception {
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        try (InputStream in = Files.newInputStream(path)) {
            List<X509Certificate> out = new ArrayList<>();
            for (java.security.cert.Certificate c : factory.generateCertificates(in)) {
                out.add((X509Certificate) c);
            }
            return out;
        }
    }

    private static PrivateKey privateKey(Path path) throws Exception {
        String pem = new String(Files.readAllBytes(path), StandardCharsets.US_ASCII);
        String begin = "-----BEGIN PRIVATE KEY-----";
        String end = "-----END PRIVATE KEY-----";
        int from = pem.indexOf(begin);
        int to = pem.indexOf(end);
        if (from < 0 || to < from) {
            throw new IllegalArgumentException(path + ": not a PKCS#8 PEM key");
        }
        byte[] der = Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to));
        for (String algorithm : new String[] {"EC", "RSA"}) {
            try {
                return KeyFactory.getInstance(algorithm)
                        .generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (java.security.GeneralSecurityException wrongAlgorithm) {
                // Try the next one.
            }
        }
        throw new IllegalArgumentException(path + ": neither an EC nor an RSA key");
    }

    /** Counts the chains it is asked to verify; verification itself is the platform's. */
    private static final class CountingTrustManager extends X509ExtendedTrustManager {
        private final X509ExtendedTrustManager inner;
        private final AtomicInteger checks;

        CountingTrustManager(X509ExtendedTrustManager inner, AtomicInteger checks) {
            this.inner = inner;
            this.checks = checks;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String auth, Socket socket)
                throws CertificateException {
            checks.incrementAndGet();
            inner.checkServerTrusted(chain, auth, socket);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String auth, SSLEngine engine)
                throws CertificateException {
            checks.incrementAndGet();
            inner.checkServerTrusted(chain, auth, engine);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String auth)
                throws CertificateException {
            checks.incrementAndGet();
            inner.checkServerTrusted(chain, auth);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String auth, Socket socket)
                throws CertificateException {
            inner.checkClientTrusted(chain, auth, socket);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String auth, SSLEngine engine)
                throws CertificateException {
            inner.checkClientTrusted(chain, auth, engine);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String auth)
                throws CertificateException {
            inner.checkClientTrusted(chain, auth);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return inner.getAcceptedIssuers();
        }
    }
}
