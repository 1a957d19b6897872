namespace Baton.Cli;

/// <summary>What <c>baton</c> exits with, for scripts (listed in <c>baton --help</c> and the README).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The reload failed (the old process serves on), or the server answered with an error.</summary>
    public const int Failed = 1;

    /// <summary>The command line is wrong.</summary>
    public const int Usage = 2;

    /// <summary>No Baton server: no pid file, a stale one, or a pid that is not a Baton server. Nothing was sent.</summary>
    public const int NoServer = 3;

    /// <summary>The reload was deferred or refused (a handover or a drain in progress); nothing changed yet.</summary>
    public const int NotNow = 4;

    /// <summary>No outcome within --timeout.</summary>
    public const int Timeout = 5;

    public const string Help = "Exit codes: 0 done; 1 failed (the old process serves on); 2 usage; 3 no Baton server (nothing sent); 4 deferred or refused; 5 timed out.";
}
