using System.Globalization;

namespace Blog.Api;

/// <summary>
/// Checks request fields one by one and collects what is wrong with each, so a client learns about every bad field
/// at once. Each method returns the parsed value, or null when the field is absent or wrong.
/// </summary>
internal sealed class FieldValidator
{
    private readonly Dictionary<string, string> errors = new(StringComparer.Ordinal);

    public bool IsValid => errors.Count == 0;

    public IReadOnlyDictionary<string, string> Errors => errors;

    public void Add(string field, string message) => errors.TryAdd(field, message);

    /// <summary>A text field; surrounding white space is dropped unless <paramref name="trim"/> is false.</summary>
    public string? Text(string field, string? value, int maxLength, bool required, bool trim = true)
    {
        var text = trim ? value?.Trim() : value;
        if (string.IsNullOrEmpty(text) || (!trim && string.IsNullOrWhiteSpace(text)))
        {
            if (required)
            {
                Add(field, "is required");
            }

            return null;
        }

        if (text.Length > maxLength)
        {
            Add(field, $"must be at most {maxLength} characters (got {text.Length})");
            return null;
        }

        return text;
    }

    /// <summary>A state: 0 (disabled) or 1 (enabled), as the original.</summary>
    public int? State(string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        switch (value.Trim())
        {
            case "0":
                return 0;
            case "1":
                return 1;
            default:
                Add(field, "must be 0 or 1");
                return null;
        }
    }

    /// <summary>A row id: a positive whole number.</summary>
    public long? Id(string field, string? value, bool required)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            if (required)
            {
                Add(field, "is required");
            }

            return null;
        }

        if (!long.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id < 1)
        {
            Add(field, "must be a positive whole number");
            return null;
        }

        return id;
    }

    /// <summary>
    /// A page number; absent, or below 1 (<c>page=0</c>, <c>page=-3</c>), means the first page, as the original
    /// (its clients send <c>page=0</c> for the first page). Text that is not a whole number is refused.
    /// </summary>
    public int Page(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return 1;
        }

        if (!int.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var page))
        {
            Add("page", "must be a whole number");
            return 1;
        }

        return Math.Max(page, 1);
    }

    public IResult Failure() => ApiResults.Invalid(errors);
}

/// <summary>The original's paging: page N (from 1) skips N-1 pages of App:PageSize items.</summary>
internal static class Paging
{
    public static long Offset(int page, int pageSize) => (long)(Math.Max(page, 1) - 1) * pageSize;
}
