namespace Baton;

/// <summary>
/// Baton could not start this process: the platform is not supported, or what a handover passed on (the
/// <c>BATON_*</c> environment variables and the descriptors they name) is not valid. The message says which.
/// </summary>
public sealed class BatonStartupException : Exception
{
    /// <summary>Creates the exception with a message that names what is wrong.</summary>
    public BatonStartupException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error behind it.</summary>
    public BatonStartupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
