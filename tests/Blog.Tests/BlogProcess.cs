using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace Blog.Tests;

/// <summary>
/// The built Blog started as a real process (`dotnet Blog.dll`, or BLOG_TEST_EXE) in the Production environment, from a private content
/// root (its own appsettings.json and data/blog.db), on 127.0.0.1 with a port the kernel picks, read back from the
/// log. Disposal kills it by pid, whatever happened.
/// </summary>
internal sealed partial class BlogProcess : IAsyncDisposable
{
    public const string Secret = "blog-tests-secret-0123456789abcdef0123456789";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Process process;
    private readonly ConcurrentQueue<string> lines = new();
    private readonly TaskCompletionSource<Uri> listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private BlogProcess(Process process, string contentRoot)
    {
        this.process = process;
        ContentRoot = contentRoot;
    }

    public string ContentRoot { get; }

    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public string Output => string.Join('\n', lines);

    public int Pid => process.Id;

    public static async Task<BlogProcess> StartAsync(IReadOnlyDictionary<string, string?>? environment = null, params string[] arguments)
    {
        var blog = Launch(environment, arguments);
        try
        {
            var exited = blog.process.WaitForExitAsync();
            var first = await Task.WhenAny(blog.listening.Task, exited).WaitAsync(StartTimeout);
            if (first != blog.listening.Task)
            {
                throw new InvalidOperationException($"Blog exited with code {blog.process.ExitCode} before it served:\n{blog.Output}");
            }

            blog.BaseAddress = await blog.listening.Task;
            blog.Client = new HttpClient { BaseAddress = blog.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            return blog;
        }
        catch
        {
            await blog.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the Blog expecting it to fail; returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunUntilExitAsync(IReadOnlyDictionary<string, string?>? environment = null, params string[] arguments)
    {
        await using var blog = Launch(environment, arguments);
        using var timeout = new CancellationTokenSource(StartTimeout);
        var exited = blog.process.WaitForExitAsync(timeout.Token);
        var first = await Task.WhenAny(blog.listening.Task, exited);
        Assert.True(first == exited && exited.IsCompletedSuccessfully, $"Blog served or hung instead of failing:\n{blog.Output}");

        // The exit event can come before the last redirected lines; WaitForExit() without a timeout drains them.
        blog.process.WaitForExit();
        return (blog.process.ExitCode, blog.Output);
    }

    public async Task<string> TokenAsync(string username = "test", string password = "test123")
    {
        using var response = await Client.PostAsync("/auth", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = username, ["password"] = password }));
        var (status, json) = await ReadAsync(response);
        Assert.True(status == 200, $"POST /auth: {status} {json}");
        return json.GetProperty("data").GetProperty("token").GetString()!;
    }

    public async Task<(int Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? token = null, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await Client.SendAsync(request);
        return await ReadAsync(response);
    }

    public static async Task<(int Status, JsonElement Body)> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/json", $"{(int)response.StatusCode} is not JSON: '{text}'");
        using var document = JsonDocument.Parse(text);
        return ((int)response.StatusCode, document.RootElement.Clone());
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
        catch (OperationCanceledException)
        {
            // Reported by the test that started it; nothing more to do here.
        }

        process.Dispose();
        try
        {
            Directory.Delete(ContentRoot, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static BlogProcess Launch(IReadOnlyDictionary<string, string?>? environment, string[] arguments)
    {
        // BLOG_TEST_EXE runs the same tests against another build, e.g. the NativeAOT one from dotnet publish -p:PublishAot=true.
        var native = Environment.GetEnvironmentVariable("BLOG_TEST_EXE");
        var build = string.IsNullOrEmpty(native) ? BuildDirectory() : Path.GetDirectoryName(Path.GetFullPath(native))!;
        var contentRoot = Directory.CreateTempSubdirectory("blog-http-").FullName;
        File.Copy(Path.Combine(build, "appsettings.json"), Path.Combine(contentRoot, "appsettings.json"));
        File.Copy(Path.Combine(build, "appsettings.Development.json"), Path.Combine(contentRoot, "appsettings.Development.json"));

        var start = new ProcessStartInfo(string.IsNullOrEmpty(native) ? "dotnet" : Path.GetFullPath(native))
        {
            WorkingDirectory = contentRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (string.IsNullOrEmpty(native))
        {
            start.ArgumentList.Add(Path.Combine(build, "Blog.dll"));
        }

        foreach (var argument in (string[])["--contentRoot", contentRoot, "--urls", "http://127.0.0.1:0", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["App__JwtSecret"] = Secret;
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Process.Start returned null");
        var blog = new BlogProcess(process, contentRoot);
        process.OutputDataReceived += (_, e) => blog.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => blog.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return blog;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lines.Enqueue(line);
        if (ListeningRegex().Match(line) is { Success: true } match)
        {
            listening.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    private static string BuildDirectory()
    {
        var configuration = AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Baton.slnx")))
            {
                var build = Path.Combine(directory.FullName, "samples", "Blog", "bin", configuration, "net10.0");
                return File.Exists(Path.Combine(build, "Blog.dll"))
                    ? build
                    : throw new FileNotFoundException($"The Blog is not built in {build}: dotnet build samples/Blog -c {configuration}.");
            }
        }

        throw new InvalidOperationException("Baton.slnx not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningRegex();
}
