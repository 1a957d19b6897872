namespace Baton.Interop;

/// <summary>Who this process runs as.</summary>
internal static class ProcessIdentity
{
    public static uint EffectiveUserId => Libc.GetEUid();
}
