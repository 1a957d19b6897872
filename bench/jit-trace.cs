#:package Microsoft.Diagnostics.Tracing.TraceEvent
// Reads an EventPipe trace of the runtime's JIT events (bench/jit-trace.sh writes one per server process) and says what
// the JIT compiled, and when: per 250 ms from the start of the trace, by optimisation tier (count, and ms of compiling),
// and in the GO_MS .. GO_MS + 2000 window - the new process's first two seconds of serving - in all.
//
//   dotnet run bench/jit-trace.cs -- TRACE.nettrace [GO_EPOCH_MS [LIST_MS]]
//
// With LIST_MS, it also lists each method compiled in the first LIST_MS after GO_EPOCH_MS: when, how long, tier, name.
using Microsoft.Diagnostics.Tracing;

var file = args[0];
using var source = new EventPipeEventSource(file);
var started = new Dictionary<long, double>();
var compiled = new List<(double At, string Tier, double Ms, string Name)>();
source.Clr.MethodJittingStarted += e => started[e.MethodID] = e.TimeStampRelativeMSec;
source.Clr.MethodLoadVerbose += e =>
{
    if (e.IsJitted)
    {
        var at = e.TimeStampRelativeMSec;
        compiled.Add((at, e.OptimizationTier.ToString(), started.TryGetValue((long)e.MethodID, out var s) ? at - s : 0, $"{e.MethodNamespace}::{e.MethodName}"));
    }
};
source.Process();

Console.WriteLine($"{file}: {compiled.Count} method(s) compiled, {compiled.Sum(c => c.Ms):F0} ms");
foreach (var bin in compiled.GroupBy(c => (int)(c.At / 250)).OrderBy(g => g.Key))
{
    Console.WriteLine($"{bin.Key * 250,7} ms  {bin.Count(),5}  " + string.Join("  ", bin.GroupBy(c => c.Tier).Select(t => $"{t.Key} {t.Count()} ({t.Sum(c => c.Ms):F0} ms)")));
}

if (args.Length > 1)
{
    // The trace's clock starts with the session; the SIGHUP's epoch ms puts "go" on it (a standby's "go" follows in ~10 ms).
    var go = long.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) - new DateTimeOffset(source.SessionStartTime.ToUniversalTime()).ToUnixTimeMilliseconds();
    var window = compiled.Where(c => c.At >= go && c.At < go + 2000).ToList();
    Console.WriteLine($"first 2 s after the SIGHUP (trace time {go} ms): {window.Count} method(s) compiled, {window.Sum(c => c.Ms):F0} ms; "
        + string.Join(", ", window.GroupBy(c => c.Tier).Select(t => $"{t.Key} {t.Count()}")));
    var after = compiled.Where(c => c.At >= go).ToList();
    Console.WriteLine($"from the SIGHUP to the end of the trace: {after.Count} method(s), {after.Sum(c => c.Ms):F0} ms");

    if (args.Length > 2)
    {
        var list = double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
        foreach (var c in compiled.Where(c => c.At >= go && c.At < go + list))
        {
            Console.WriteLine($"  +{c.At - go,8:F2} ms  {c.Ms,6:F2} ms  {c.Tier,-26} {c.Name}");
        }
    }
}
