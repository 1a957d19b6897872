using Blog.Api;
using Blog.Data;
using Blog.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Blog.Endpoints;

/// <summary><c>/api/v1/articles</c>: list, read, create, edit and (soft-)delete articles; each carries its tag.</summary>
internal static class ArticleEndpoints
{
    public static RouteGroupBuilder MapArticleEndpoints(this RouteGroupBuilder api)
    {
        var articles = api.MapGroup("/articles").WithTags("articles");
        articles.MapGet("", List)
            .WithSummary("List articles that are not deleted, by state and tag, one page of App:PageSize at a time.")
            .Answers<Page<Article>>();
        articles.MapGet("/{id}", Get)
            .WithSummary("One article with its tag.")
            .Answers<Article>(StatusCodes.Status404NotFound);
        articles.MapPost("", Create)
            .WithSummary("Create an article under an existing tag.")
            .AcceptsFormOrJson<ArticleCreate>()
            .Answers<Article>(StatusCodes.Status404NotFound);
        articles.MapPut("/{id}", Update)
            .WithSummary("Edit an article; modified_by is required, other fields keep their value when absent.")
            .AcceptsFormOrJson<ArticleUpdate>()
            .Answers<Article>(StatusCodes.Status404NotFound);
        articles.MapDelete("/{id}", Delete)
            .WithSummary("Delete an article (soft: it gets deleted_on and disappears from reads).")
            .Answers<EmptyData>(StatusCodes.Status404NotFound);
        return api;
    }

    public static async Task<IResult> List(
        [FromQuery] string? state, [FromQuery(Name = "tag_id")] string? tagId, [FromQuery] string? page,
        BlogStore store, IOptions<AppOptions> options, CancellationToken cancellationToken)
    {
        var v = new FieldValidator();
        var query = ArticleQuery.Parse(state, tagId, page, v);
        return query is null ? v.Failure() : ApiResults.Ok(await store.ListArticlesAsync(query, options.Value.PageSize, cancellationToken));
    }

    public static async Task<IResult> Get(string id, BlogStore store, CancellationToken cancellationToken)
    {
        var v = new FieldValidator();
        var articleId = v.Id("id", id, required: true);
        if (articleId is null)
        {
            return v.Failure();
        }

        var article = await store.GetArticleAsync(articleId.Value, cancellationToken);
        return article is null ? ApiResults.NotFound(ApiCode.ArticleNotFound) : ApiResults.Ok(article);
    }

    public static async Task<IResult> Create(HttpContext context, BlogStore store)
    {
        var request = await Bound<ArticleCreate>.ReadAsync(context, ArticleCreate.Parse);
        if (request.Failure is not null)
        {
            return request.Failure;
        }

        var article = await store.CreateArticleAsync(request.Value!, context.RequestAborted);
        return article is null ? ApiResults.NotFound(ApiCode.TagNotFound) : ApiResults.Ok(article);
    }

    public static async Task<IResult> Update(string id, HttpContext context, BlogStore store)
    {
        var request = await Bound<ArticleUpdate>.ReadAsync(context, ArticleUpdate.Parse, id);
        if (request.Failure is not null)
        {
            return request.Failure;
        }

        var (outcome, article) = await store.UpdateArticleAsync(request.Id, request.Value!, context.RequestAborted);
        return outcome switch
        {
            WriteOutcome.Done when article is not null => ApiResults.Ok(article),
            WriteOutcome.TagNotFound => ApiResults.NotFound(ApiCode.TagNotFound),
            _ => ApiResults.NotFound(ApiCode.ArticleNotFound),
        };
    }

    public static async Task<IResult> Delete(string id, BlogStore store, CancellationToken cancellationToken)
    {
        var v = new FieldValidator();
        var articleId = v.Id("id", id, required: true);
        return articleId is null
            ? v.Failure()
            : await store.DeleteArticleAsync(articleId.Value, cancellationToken) ? ApiResults.Ok() : ApiResults.NotFound(ApiCode.ArticleNotFound);
    }
}
