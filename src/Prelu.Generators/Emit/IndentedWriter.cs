using System;
using System.Text;

namespace Prelu.Generators.Emit;

/// <summary>Writes C# line by line with indentation; blocks open and close with braces.</summary>
internal sealed class IndentedWriter
{
    private readonly StringBuilder _text = new();
    private int _depth;

    public IndentedWriter Line(string line = "")
    {
        if (line.Length > 0)
            _text.Append(' ', 4 * _depth).Append(line);
        _text.Append('\n');
        return this;
    }

    /// <summary>Writes <paramref name="header"/> (unless empty) and "{", and returns a scope whose disposal writes "}".</summary>
    public Scope Block(string header)
    {
        if (header.Length > 0)
            Line(header);
        Line("{");
        _depth++;
        return new Scope(this);
    }

    public override string ToString() => _text.ToString();

    public readonly struct Scope : IDisposable
    {
        private readonly IndentedWriter _writer;

        public Scope(IndentedWriter writer) => _writer = writer;

        public void Dispose()
        {
            _writer._depth--;
            _writer.Line("}");
        }
    }
}
