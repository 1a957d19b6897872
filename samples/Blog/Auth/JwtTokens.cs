using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Blog.Options;
using Microsoft.Extensions.Options;

namespace Blog.Auth;

/// <summary>What a token check found.</summary>
internal enum TokenStatus
{
    Valid,
    Invalid,
    Expired,
}

internal readonly record struct TokenCheck(TokenStatus Status, string? Subject, string? Reason)
{
    public static TokenCheck Invalid(string reason) => new(TokenStatus.Invalid, null, reason);
}

/// <summary>
/// Issues and checks the API's tokens: compact JWTs signed with HS256 and App:JwtSecret. Hand-written rather than
/// the JwtBearer stack because the API needs one algorithm and two outcomes (invalid, expired), and every handover
/// pays for the assemblies a new process loads.
/// </summary>
/// <remarks>
/// Only <c>alg: HS256</c> is accepted (never <c>none</c> or another key type); the signature is checked, in constant
/// time, before anything in the payload is believed, so a forged expired token is "invalid", not "expired".
/// </remarks>
internal sealed class JwtTokens
{
    public const string Issuer = "blog";

    // {"alg":"HS256","typ":"JWT"}, base64url-encoded once.
    private static readonly string EncodedHeader = Base64Url.EncodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"u8);

    private readonly byte[] key;
    private readonly TimeSpan lifetime;
    private readonly TimeProvider time;

    public JwtTokens(IOptions<AppOptions> options, TimeProvider time)
        : this(options.Value.JwtSecret, options.Value.TokenLifetime, time)
    {
    }

    public JwtTokens(string secret, TimeSpan lifetime, TimeProvider time)
    {
        key = Encoding.UTF8.GetBytes(secret);
        this.lifetime = lifetime;
        this.time = time;
    }

    public string Issue(string subject)
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var payload = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(payload))
        {
            json.WriteStartObject();
            json.WriteString("sub", subject);
            json.WriteString("iss", Issuer);
            json.WriteNumber("iat", now);
            json.WriteNumber("exp", now + (long)lifetime.TotalSeconds);
            json.WriteEndObject();
        }

        var signingInput = EncodedHeader + "." + Base64Url.EncodeToString(payload.WrittenSpan);
        return signingInput + "." + Base64Url.EncodeToString(Sign(signingInput));
    }

    public TokenCheck Check(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return TokenCheck.Invalid("missing");
        }

        var firstDot = token.IndexOf('.', StringComparison.Ordinal);
        var lastDot = token.LastIndexOf('.');
        if (firstDot <= 0 || lastDot == firstDot || lastDot == token.Length - 1 || token.IndexOf('.', firstDot + 1) != lastDot)
        {
            return TokenCheck.Invalid("not a compact JWT");
        }

        var signingInput = token.AsSpan(0, lastDot);
        byte[] header, payload, signature;
        try
        {
            header = Base64Url.DecodeFromChars(token.AsSpan(0, firstDot));
            payload = Base64Url.DecodeFromChars(token.AsSpan(firstDot + 1, lastDot - firstDot - 1));
            signature = Base64Url.DecodeFromChars(token.AsSpan(lastDot + 1));
        }
        catch (FormatException)
        {
            return TokenCheck.Invalid("not base64url");
        }

        try
        {
            if (!IsHs256(header))
            {
                return TokenCheck.Invalid("algorithm is not HS256");
            }

            if (!CryptographicOperations.FixedTimeEquals(Sign(signingInput), signature))
            {
                return TokenCheck.Invalid("bad signature");
            }

            return CheckClaims(payload);
        }
        catch (JsonException)
        {
            return TokenCheck.Invalid("malformed JSON");
        }
    }

    private TokenCheck CheckClaims(byte[] payload)
    {
        using var document = JsonDocument.Parse(payload);
        var claims = document.RootElement;
        if (claims.ValueKind != JsonValueKind.Object)
        {
            return TokenCheck.Invalid("payload is not an object");
        }

        if (!claims.TryGetProperty("iss", out var iss) || iss.ValueKind != JsonValueKind.String || iss.GetString() != Issuer)
        {
            return TokenCheck.Invalid("wrong issuer");
        }

        if (!claims.TryGetProperty("sub", out var sub) || sub.ValueKind != JsonValueKind.String)
        {
            return TokenCheck.Invalid("no subject");
        }

        if (!claims.TryGetProperty("exp", out var exp) || exp.ValueKind != JsonValueKind.Number || !exp.TryGetInt64(out var expires))
        {
            return TokenCheck.Invalid("no expiry");
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        if (claims.TryGetProperty("nbf", out var nbf) && (!nbf.TryGetInt64(out var notBefore) || now < notBefore))
        {
            return TokenCheck.Invalid("not valid yet");
        }

        return now >= expires
            ? new TokenCheck(TokenStatus.Expired, sub.GetString(), "expired")
            : new TokenCheck(TokenStatus.Valid, sub.GetString(), null);
    }

    private static bool IsHs256(byte[] header)
    {
        using var document = JsonDocument.Parse(header);
        return document.RootElement.ValueKind == JsonValueKind.Object &&
               document.RootElement.TryGetProperty("alg", out var alg) &&
               alg.ValueKind == JsonValueKind.String &&
               alg.GetString() == "HS256";
    }

    private byte[] Sign(ReadOnlySpan<char> signingInput)
    {
        var bytes = new byte[Encoding.ASCII.GetByteCount(signingInput)];
        Encoding.ASCII.GetBytes(signingInput, bytes);
        return HMACSHA256.HashData(key, bytes);
    }
}
