using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Baton.IntegrationTests.Infrastructure;

/// <summary>Self-signed certificates for "localhost" made at test time, and what a TLS server actually serves.</summary>
internal static class TestCertificates
{
    /// <summary>
    /// Writes a new certificate and its key as PEM files (what Kestrel's Certificate:Path and KeyPath read), each
    /// through a temporary file and a rename, as a deployment swaps them; returns the certificate's SHA-1 thumbprint.
    /// </summary>
    public static string WritePem(string certificatePath, string keyPath, string subject)
    {
        using var certificate = Create(subject);
        using var key = certificate.GetECDsaPrivateKey()!;
        Replace(keyPath, key.ExportPkcs8PrivateKeyPem());
        Replace(certificatePath, certificate.ExportCertificatePem());
        return certificate.Thumbprint;
    }

    /// <summary>Writes a new certificate with its key as a password-protected PFX (PKCS#12) file; returns its thumbprint.</summary>
    public static string WritePfx(string path, string password, string subject)
    {
        using var certificate = Create(subject);
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, password));
        return certificate.Thumbprint;
    }

    /// <summary>The thumbprint of the certificate a TLS server at 127.0.0.1:<paramref name="port"/> serves on a new connection.</summary>
    public static async Task<string> ServedThumbprintAsync(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", port);
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        await tls.AuthenticateAsClientAsync(ClientOptions());
        using var served = new X509Certificate2(tls.RemoteCertificate!);
        return served.Thumbprint;
    }

    /// <summary>A client that accepts the test's self-signed certificates, for HTTP/1.1 over TLS.</summary>
    public static SslClientAuthenticationOptions ClientOptions() => new()
    {
        TargetHost = "localhost",
        ApplicationProtocols = [SslApplicationProtocol.Http11],
        RemoteCertificateValidationCallback = (_, _, _, _) => true,
    };

    private static X509Certificate2 Create(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }

    private static void Replace(string path, string text)
    {
        var temporary = path + ".new";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}
