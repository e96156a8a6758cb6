using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Prelu.Generators.Model;

/// <summary>
/// A Keras-style call written in an attribute string: a name with optional arguments, e.g.
/// "glorot_uniform", "constant(0.25)", "l1_l2(0.01, 0.02)", "max_norm(2, axis=[0, 1, 2])".
/// Arguments are numbers or lists of integers, positional or named.
/// </summary>
internal sealed class KerasCall
{
    private KerasCall(string name, List<object> positional, Dictionary<string, object> named)
    {
        Name = name;
        Positional = positional;
        Named = named;
    }

    public string Name { get; }
    public List<object> Positional { get; }
    public Dictionary<string, object> Named { get; }

    /// <summary>Parses <paramref name="text"/>; on failure returns null and says why.</summary>
    public static KerasCall? Parse(string text, out string? error)
    {
        error = null;
        text = text.Trim();
        int open = text.IndexOf('(');
        string name = (open < 0 ? text : text.Substring(0, open)).Trim();
        if (name.Length == 0 || !name.All(c => char.IsLetterOrDigit(c) || c == '_'))
        {
            error = "expected a name such as glorot_uniform";
            return null;
        }
        var positional = new List<object>();
        var named = new Dictionary<string, object>(StringComparer.Ordinal);
        if (open < 0)
            return new KerasCall(name, positional, named);
        if (!text.EndsWith(")", StringComparison.Ordinal))
        {
            error = "the arguments are not closed with ')'";
            return null;
        }
        string inner = text.Substring(open + 1, text.Length - open - 2);
        foreach (var part in SplitTopLevel(inner))
        {
            if (part.Length == 0)
                continue;
            int equals = part.IndexOf('=');
            string valueText = equals < 0 ? part : part.Substring(equals + 1).Trim();
            var value = ParseValue(valueText);
            if (value is null)
            {
                error = $"cannot read the argument '{part}'";
                return null;
            }
            if (equals < 0)
            {
                if (named.Count > 0)
                {
                    error = "a positional argument follows a named one";
                    return null;
                }
                positional.Add(value);
            }
            else
            {
                named[part.Substring(0, equals).Trim()] = value;
            }
        }
        return new KerasCall(name, positional, named);
    }

    /// <summary>The argument at <paramref name="position"/> or named <paramref name="name"/>, as a number; <paramref name="fallback"/> when absent.</summary>
    public double Number(int position, string name, double fallback)
    {
        object? value = position < Positional.Count ? Positional[position] : Named.TryGetValue(name, out var v) ? v : null;
        return value switch
        {
            null => fallback,
            double d => d,
            _ => throw new FormatException($"argument '{name}' must be a number"),
        };
    }

    /// <summary>An axis argument: one integer or a list; <paramref name="fallback"/> when absent.</summary>
    public int[] Axes(int position, string name, int[] fallback)
    {
        object? value = position < Positional.Count ? Positional[position] : Named.TryGetValue(name, out var v) ? v : null;
        return value switch
        {
            null => fallback,
            double d when d == Math.Floor(d) => new[] { (int)d },
            int[] list => list,
            _ => throw new FormatException($"argument '{name}' must be an integer or a list of integers"),
        };
    }

    /// <summary>Fails when more arguments were given than <paramref name="names"/> lists.</summary>
    public void Expect(params string[] names)
    {
        if (Positional.Count > names.Length)
            throw new FormatException($"takes at most {names.Length} argument(s) ({string.Join(", ", names)}), got {Positional.Count}");
        foreach (var key in Named.Keys)
        {
            if (!names.Contains(key))
                throw new FormatException($"has no argument '{key}'" + (names.Length > 0 ? $" (it takes {string.Join(", ", names)})" : ""));
        }
    }

    private static readonly char[] ListSeparator = { ',' };

    private static object? ParseValue(string text)
    {
        if (text.StartsWith("[", StringComparison.Ordinal) && text.EndsWith("]", StringComparison.Ordinal))
        {
            var items = text.Substring(1, text.Length - 2).Split(ListSeparator, StringSplitOptions.RemoveEmptyEntries);
            var list = new int[items.Length];
            for (int i = 0; i < items.Length; i++)
            {
                if (!int.TryParse(items[i].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out list[i]))
                    return null;
            }
            return list;
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) ? number : null;
    }

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        int depth = 0, start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '[')
                depth++;
            else if (text[i] == ']')
                depth--;
            else if (text[i] == ',' && depth == 0)
            {
                yield return text.Substring(start, i - start).Trim();
                start = i + 1;
            }
        }
        yield return text.Substring(start).Trim();
    }
}
