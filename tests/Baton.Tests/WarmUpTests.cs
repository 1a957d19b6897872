using System.Buffers;
using System.Text;
using Baton.Kestrel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Xunit;

namespace Baton.Tests;

public sealed class WarmUpTests
{
    [Fact]
    public void Found_paths_are_the_get_endpoints_without_route_parameters_in_the_order_mapped_and_not_the_health_checks()
    {
        var endpoints = new DefaultEndpointDataSource(
            Endpoint("/", "GET"),
            Endpoint("/api/v1/articles/{id}", "GET"),
            Endpoint("/api/v1/articles", "POST"),
            Endpoint("api/v1/tags", "GET", "HEAD"),
            Endpoint("/ws"),
            HealthChecks("/health/ready"),
            Endpoint("/", "GET"));

        Assert.Equal(["/", "/api/v1/tags", "/ws"], WarmUp.DiscoverPaths(endpoints));
        Assert.Empty(WarmUp.DiscoverPaths(null));
    }

    [Fact]
    public void At_most_32_paths_are_found()
    {
        var endpoints = new DefaultEndpointDataSource(Enumerable.Range(0, 40).Select(i => Endpoint($"/p{i}", "GET")));
        Assert.Equal(WarmUp.MaxDiscoveredPaths, WarmUp.DiscoverPaths(endpoints).Count);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", new[] { 200 })]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n", new[] { 200, 404 })]
    [InlineData("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", new[] { 503 })]
    [InlineData("HTTP/1.1 200 O", new[] { 200 })]
    [InlineData("garbage\r\nHTTP/1.1 20", new int[0])]
    public void Status_codes_are_read_from_status_lines_at_the_start_of_a_line(string received, int[] statuses)
    {
        // The first case: a body that ends without a line break runs into the next status line, which is then not
        // counted - a figure for the log, never a decision.
        Assert.Equal(statuses, WarmUp.StatusCodes(received));
    }

    [Fact]
    public void A_warm_up_request_is_told_apart_by_its_connection_not_by_anything_a_client_sends()
    {
        var warm = new DefaultHttpContext();
        warm.Connection.Id = WarmUp.ConnectionIdPrefix + "1";
        var client = new DefaultHttpContext();
        client.Connection.Id = "0HN7";
        client.Request.Headers.UserAgent = "Baton-WarmUp";

        Assert.True(warm.IsBatonWarmUp());
        Assert.False(client.IsBatonWarmUp());
    }

    private static RouteEndpoint Endpoint(string pattern, params string[] methods)
    {
        var metadata = methods.Length > 0 ? new EndpointMetadataCollection(new HttpMethodMetadata(methods)) : EndpointMetadataCollection.Empty;
        return new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse(pattern), 0, metadata, displayName: null);
    }

    /// <summary>As MapHealthChecks maps it: any method, display name "Health checks".</summary>
    private static RouteEndpoint HealthChecks(string pattern) =>
        new(_ => Task.CompletedTask, RoutePatternFactory.Parse(pattern), 0, EndpointMetadataCollection.Empty, "Health checks");
}
