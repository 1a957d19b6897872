using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Blog.Auth;

/// <summary>
/// Salted PBKDF2-SHA256 password hashes, stored as <c>pbkdf2-sha256$iterations$salt$hash</c> (base64), so the work
/// factor can be raised without breaking stored hashes: a hash with fewer iterations than <see cref="DefaultIterations"/>
/// still verifies, and <see cref="NeedsRehash"/> tells the login to store a new one.
/// </summary>
internal static class PasswordHasher
{
    /// <summary>OWASP's figure for PBKDF2-HMAC-SHA256 (Password Storage Cheat Sheet).</summary>
    public const int DefaultIterations = 600_000;

    private const string Scheme = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    // Checked against when the user does not exist, so a wrong name costs as long as a wrong password.
    private static readonly Lazy<string> Decoy = new(() => Hash("decoy password", DefaultIterations));

    public static string Hash(string password, int iterations = DefaultIterations)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Join('$', Scheme, iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(hash));
    }

    /// <summary>True when <paramref name="password"/> matches <paramref name="stored"/>; false for a malformed hash.</summary>
    public static bool Verify(string password, string stored)
    {
        if (!TryParse(stored, out var iterations, out var salt, out var expected))
        {
            return false;
        }

        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>Spends the time of one verification without a stored hash.</summary>
    public static void VerifyDecoy(string password) => Verify(password, Decoy.Value);

    /// <summary>
    /// True when a well-formed <paramref name="stored"/> hash has fewer iterations than <see cref="DefaultIterations"/>;
    /// <paramref name="iterations"/> is its work factor.
    /// </summary>
    public static bool NeedsRehash(string stored, out int iterations) =>
        TryParse(stored, out iterations, out _, out _) && iterations < DefaultIterations;

    private static bool TryParse(string stored, out int iterations, out byte[] salt, out byte[] hash)
    {
        salt = hash = [];
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations < 1)
        {
            iterations = 0;
            return false;
        }

        try
        {
            salt = Convert.FromBase64String(parts[2]);
            hash = Convert.FromBase64String(parts[3]);
            return hash.Length > 0;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
