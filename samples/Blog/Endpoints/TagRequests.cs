using System.Text.Json.Serialization;
using Blog.Api;

namespace Blog.Endpoints;

/// <summary>Fields of <c>POST /api/v1/tags</c> (form or JSON).</summary>
/// <param name="Name">The tag's name, unique among tags that are not deleted; at most 100 characters.</param>
/// <param name="CreatedBy">Who creates it; at most 100 characters.</param>
/// <param name="State">0 (disabled, the default) or 1 (enabled).</param>
internal sealed record TagCreate(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("created_by")] string CreatedBy,
    [property: JsonPropertyName("state")] int State)
{
    public const int MaxName = 100;
    public const int MaxBy = 100;

    public static TagCreate? Parse(RequestFields fields, FieldValidator v)
    {
        var name = v.Text("name", fields["name"], MaxName, required: true);
        var createdBy = v.Text("created_by", fields["created_by"], MaxBy, required: true);
        var state = v.State("state", fields["state"]);
        return v.IsValid ? new TagCreate(name!, createdBy!, state ?? 0) : null;
    }
}

/// <summary>Fields of <c>PUT /api/v1/tags/{id}</c> (form or JSON); absent fields keep their value.</summary>
/// <param name="Name">A new name, unique among tags that are not deleted.</param>
/// <param name="ModifiedBy">Who changes it (required).</param>
/// <param name="State">0 or 1.</param>
internal sealed record TagUpdate(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("modified_by")] string ModifiedBy,
    [property: JsonPropertyName("state")] int? State)
{
    public static TagUpdate? Parse(RequestFields fields, FieldValidator v)
    {
        var name = v.Text("name", fields["name"], TagCreate.MaxName, required: false);
        var modifiedBy = v.Text("modified_by", fields["modified_by"], TagCreate.MaxBy, required: true);
        var state = v.State("state", fields["state"]);
        return v.IsValid ? new TagUpdate(name, modifiedBy!, state) : null;
    }
}

/// <summary>Filters and page of <c>GET /api/v1/tags</c>.</summary>
internal sealed record TagQuery(string? Name, int? State, int Page)
{
    public static TagQuery? Parse(string? name, string? state, string? page, FieldValidator v)
    {
        var parsedName = v.Text("name", name, TagCreate.MaxName, required: false);
        var parsedState = v.State("state", state);
        var parsedPage = v.Page(page);
        return v.IsValid ? new TagQuery(parsedName, parsedState, parsedPage) : null;
    }
}
