using System.Text.RegularExpressions;

namespace Blog.Logging;

/// <summary>
/// Replaces the values of secret query parameters (<c>token</c>, and <c>password</c> of the compatible
/// <c>GET /auth</c>) in text with <c>[redacted]</c>. Names are matched as ASP.NET Core reads them: unescaped and
/// case-insensitively, so <c>?TOKEN=</c> or <c>?%74oken=</c>, which the API accepts, are redacted too.
/// </summary>
internal static partial class QueryRedaction
{
    public const string Redacted = "[redacted]";

    private static readonly string[] SecretNames = ["token", "password"];

    /// <summary><paramref name="text"/> with secret values replaced; the same instance when there is none.</summary>
    public static string Redact(string text)
    {
        if (text.IndexOf('=', StringComparison.Ordinal) < 0)
        {
            return text;
        }

        var changed = false;
        var result = ParameterRegex().Replace(text, match =>
        {
            if (!IsSecret(match.Groups["name"].Value) || match.Groups["value"].Length == 0)
            {
                return match.Value;
            }

            changed = true;
            return match.Groups["name"].Value + "=" + Redacted;
        });
        return changed ? result : text;
    }

    private static bool IsSecret(string name)
    {
        if (name.Contains('%', StringComparison.Ordinal))
        {
            name = Uri.UnescapeDataString(name);
        }

        foreach (var secret in SecretNames)
        {
            if (string.Equals(name, secret, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    // A query parameter: after '?' or '&', a name, '=', and a value up to the next parameter, white space or quote.
    [GeneratedRegex("""(?<=[?&])(?<name>[^=&?#\s"']+)=(?<value>[^&#\s"']*)""", RegexOptions.CultureInvariant)]
    private static partial Regex ParameterRegex();
}
