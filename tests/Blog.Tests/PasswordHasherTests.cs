using Blog.Auth;
using Xunit;

namespace Blog.Tests;

public sealed class PasswordHasherTests
{
    [Fact]
    public void A_hash_verifies_its_password_only()
    {
        var hash = PasswordHasher.Hash("test123", iterations: 1000);
        Assert.True(PasswordHasher.Verify("test123", hash));
        Assert.False(PasswordHasher.Verify("test124", hash));
        Assert.False(PasswordHasher.Verify("", hash));
    }

    [Fact]
    public void A_hash_is_salted_and_never_holds_the_password()
    {
        var first = PasswordHasher.Hash("test123", iterations: 1000);
        var second = PasswordHasher.Hash("test123", iterations: 1000);
        Assert.NotEqual(first, second);
        Assert.DoesNotContain("test123", first, StringComparison.Ordinal);
        Assert.StartsWith("pbkdf2-sha256$1000$", first, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_work_factor_is_owasps_600000_iterations_and_is_stored_in_the_hash()
    {
        Assert.True(PasswordHasher.DefaultIterations >= 600_000, $"{PasswordHasher.DefaultIterations} iterations");
        Assert.StartsWith("pbkdf2-sha256$600000$", PasswordHasher.Hash("x"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_hash_below_the_work_factor_needs_a_rehash_and_a_current_one_does_not()
    {
        Assert.True(PasswordHasher.NeedsRehash(PasswordHasher.Hash("x", iterations: 100_000), out var old));
        Assert.Equal(100_000, old);
        Assert.False(PasswordHasher.NeedsRehash(PasswordHasher.Hash("x"), out var current));
        Assert.Equal(PasswordHasher.DefaultIterations, current);
        Assert.False(PasswordHasher.NeedsRehash("md5$1$a$b", out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("test123")]
    [InlineData("md5$1$a$b")]
    [InlineData("pbkdf2-sha256$0$AAAA$AAAA")]
    [InlineData("pbkdf2-sha256$x$AAAA$AAAA")]
    [InlineData("pbkdf2-sha256$10$not base64$AAAA")]
    public void A_malformed_stored_hash_never_verifies(string stored) =>
        Assert.False(PasswordHasher.Verify("test123", stored));
}
