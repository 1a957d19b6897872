using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Blog.Auth;
using Xunit;

namespace Blog.Tests;

public sealed class JwtTokensTests
{
    private const string Secret = "0123456789abcdef0123456789abcdef-test";
    private static readonly DateTimeOffset Start = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private readonly ManualTimeProvider clock = new(Start);

    private JwtTokens Tokens(string secret = Secret) => new(secret, TimeSpan.FromHours(3), clock);

    [Fact]
    public void An_issued_token_is_valid_and_names_its_subject()
    {
        var tokens = Tokens();
        var check = tokens.Check(tokens.Issue("test"));
        Assert.Equal(TokenStatus.Valid, check.Status);
        Assert.Equal("test", check.Subject);
    }

    [Fact]
    public void A_token_is_a_standard_hs256_jwt_with_a_three_hour_expiry()
    {
        var parts = Tokens().Issue("test").Split('.');
        Assert.Equal(3, parts.Length);

        using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
        Assert.Equal("HS256", header.RootElement.GetProperty("alg").GetString());
        Assert.Equal("JWT", header.RootElement.GetProperty("typ").GetString());

        using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
        Assert.Equal("test", payload.RootElement.GetProperty("sub").GetString());
        Assert.Equal(Start.ToUnixTimeSeconds(), payload.RootElement.GetProperty("iat").GetInt64());
        Assert.Equal(Start.AddHours(3).ToUnixTimeSeconds(), payload.RootElement.GetProperty("exp").GetInt64());

        // The signature is HMAC-SHA256 over "header.payload", as any JWT library computes it.
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
        Assert.Equal(Base64Url.EncodeToString(expected), parts[2]);
    }

    [Fact]
    public void A_token_expires_after_its_lifetime_exactly()
    {
        var tokens = Tokens();
        var token = tokens.Issue("test");
        clock.Now = Start.AddHours(3).AddSeconds(-1);
        Assert.Equal(TokenStatus.Valid, tokens.Check(token).Status);
        clock.Now = Start.AddHours(3);
        Assert.Equal(TokenStatus.Expired, tokens.Check(token).Status);
    }

    [Fact]
    public void A_token_signed_with_another_secret_is_invalid()
    {
        var token = Tokens("another secret that is long enough for HS256!").Issue("test");
        Assert.Equal(TokenStatus.Invalid, Tokens().Check(token).Status);
    }

    [Fact]
    public void An_expired_token_with_a_bad_signature_is_invalid_not_expired()
    {
        var token = Tokens("another secret that is long enough for HS256!").Issue("test");
        clock.Now = Start.AddDays(1);
        Assert.Equal(TokenStatus.Invalid, Tokens().Check(token).Status);
    }

    [Fact]
    public void A_changed_payload_is_invalid()
    {
        var tokens = Tokens();
        var parts = tokens.Issue("test").Split('.');
        var forged = Base64Url.EncodeToString("""{"sub":"admin","iss":"blog","exp":9999999999}"""u8);
        Assert.Equal(TokenStatus.Invalid, tokens.Check($"{parts[0]}.{forged}.{parts[2]}").Status);
    }

    [Fact]
    public void The_none_algorithm_is_refused()
    {
        var header = Base64Url.EncodeToString("""{"alg":"none","typ":"JWT"}"""u8);
        var payload = Base64Url.EncodeToString("""{"sub":"test","iss":"blog","exp":9999999999}"""u8);
        var check = Tokens().Check($"{header}.{payload}.");
        Assert.Equal(TokenStatus.Invalid, check.Status);
    }

    [Fact]
    public void A_correctly_signed_token_from_another_issuer_or_without_expiry_is_invalid()
    {
        Assert.Equal("wrong issuer", Tokens().Check(Sign("""{"sub":"test","iss":"other","exp":9999999999}""")).Reason);
        Assert.Equal("no expiry", Tokens().Check(Sign("""{"sub":"test","iss":"blog"}""")).Reason);
        Assert.Equal(TokenStatus.Valid, Tokens().Check(Sign("""{"sub":"test","iss":"blog","exp":9999999999}""")).Status);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("a.b")]
    [InlineData("a.b.c.d")]
    [InlineData("...")]
    [InlineData("!!.??.**")]
    [InlineData("e30.e30.")]
    public void Garbage_is_invalid_and_never_throws(string? token) =>
        Assert.Equal(TokenStatus.Invalid, Tokens().Check(token).Status);

    [Fact]
    public void A_signed_payload_that_is_not_json_is_invalid()
    {
        var header = Base64Url.EncodeToString("""{"alg":"HS256","typ":"JWT"}"""u8);
        var payload = Base64Url.EncodeToString("not json"u8);
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.ASCII.GetBytes(header + "." + payload));
        Assert.Equal(TokenStatus.Invalid, Tokens().Check($"{header}.{payload}.{Base64Url.EncodeToString(signature)}").Status);
    }

    private static string Sign(string payloadJson)
    {
        var header = Base64Url.EncodeToString("""{"alg":"HS256","typ":"JWT"}"""u8);
        var payload = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payloadJson));
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.ASCII.GetBytes(header + "." + payload));
        return $"{header}.{payload}.{Base64Url.EncodeToString(signature)}";
    }
}
