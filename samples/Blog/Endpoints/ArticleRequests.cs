using System.Text.Json.Serialization;
using Blog.Api;

namespace Blog.Endpoints;

/// <summary>Fields of <c>POST /api/v1/articles</c> (form or JSON).</summary>
/// <param name="TagId">The tag the article belongs to; it must exist.</param>
/// <param name="Title">At most 100 characters.</param>
/// <param name="Desc">A short description; at most 255 characters.</param>
/// <param name="Content">The body; at most 65535 characters.</param>
/// <param name="CreatedBy">Who writes it; at most 100 characters.</param>
/// <param name="CoverImageUrl">Optional; at most 255 characters.</param>
/// <param name="State">0 (disabled, the default) or 1 (enabled).</param>
internal sealed record ArticleCreate(
    [property: JsonPropertyName("tag_id")] long TagId,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("desc")] string Desc,
    [property: JsonPropertyName("content")] string Content,
    [property: JsonPropertyName("created_by")] string CreatedBy,
    [property: JsonPropertyName("cover_image_url")] string CoverImageUrl,
    [property: JsonPropertyName("state")] int State)
{
    public const int MaxTitle = 100;
    public const int MaxDesc = 255;
    public const int MaxContent = 65535;
    public const int MaxBy = 100;
    public const int MaxCoverImageUrl = 255;

    public static ArticleCreate? Parse(RequestFields fields, FieldValidator v)
    {
        var tagId = v.Id("tag_id", fields["tag_id"], required: true);
        var title = v.Text("title", fields["title"], MaxTitle, required: true);
        var desc = v.Text("desc", fields["desc"], MaxDesc, required: true);
        var content = v.Text("content", fields["content"], MaxContent, required: true, trim: false);
        var createdBy = v.Text("created_by", fields["created_by"], MaxBy, required: true);
        var cover = v.Text("cover_image_url", fields["cover_image_url"], MaxCoverImageUrl, required: false);
        var state = v.State("state", fields["state"]);
        return v.IsValid ? new ArticleCreate(tagId!.Value, title!, desc!, content!, createdBy!, cover ?? "", state ?? 0) : null;
    }
}

/// <summary>Fields of <c>PUT /api/v1/articles/{id}</c> (form or JSON); absent fields keep their value.</summary>
/// <param name="TagId">Moves the article to this tag; it must exist.</param>
/// <param name="Title">A new title; at most 100 characters.</param>
/// <param name="Desc">A new description; at most 255 characters.</param>
/// <param name="Content">A new body; at most 65535 characters.</param>
/// <param name="ModifiedBy">Who changes it (required).</param>
/// <param name="CoverImageUrl">A new cover image address; at most 255 characters.</param>
/// <param name="State">0 or 1.</param>
internal sealed record ArticleUpdate(
    [property: JsonPropertyName("tag_id")] long? TagId,
    [property: JsonPropertyName("title")] string? Title,
    [property: JsonPropertyName("desc")] string? Desc,
    [property: JsonPropertyName("content")] string? Content,
    [property: JsonPropertyName("modified_by")] string ModifiedBy,
    [property: JsonPropertyName("cover_image_url")] string? CoverImageUrl,
    [property: JsonPropertyName("state")] int? State)
{
    public static ArticleUpdate? Parse(RequestFields fields, FieldValidator v)
    {
        var tagId = v.Id("tag_id", fields["tag_id"], required: false);
        var title = v.Text("title", fields["title"], ArticleCreate.MaxTitle, required: false);
        var desc = v.Text("desc", fields["desc"], ArticleCreate.MaxDesc, required: false);
        var content = v.Text("content", fields["content"], ArticleCreate.MaxContent, required: false, trim: false);
        var modifiedBy = v.Text("modified_by", fields["modified_by"], ArticleCreate.MaxBy, required: true);
        var cover = v.Text("cover_image_url", fields["cover_image_url"], ArticleCreate.MaxCoverImageUrl, required: false);
        var state = v.State("state", fields["state"]);
        return v.IsValid ? new ArticleUpdate(tagId, title, desc, content, modifiedBy!, cover, state) : null;
    }
}

/// <summary>Filters and page of <c>GET /api/v1/articles</c>.</summary>
internal sealed record ArticleQuery(int? State, long? TagId, int Page)
{
    public static ArticleQuery? Parse(string? state, string? tagId, string? page, FieldValidator v)
    {
        var parsedState = v.State("state", state);
        var parsedTagId = v.Id("tag_id", tagId, required: false);
        var parsedPage = v.Page(page);
        return v.IsValid ? new ArticleQuery(parsedState, parsedTagId, parsedPage) : null;
    }
}
