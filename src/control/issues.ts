/**
 * Zod's issues turned into messages a person can act on, each with the path of the value (or key)
 * it is about. Unions are opened to the branch whose type matched (`rate: {egress: 2mbits}` reports
 * the bad rate, not "invalid input"); unknown keys become one problem per key, at the key; missing
 * keys say "required".
 */
import type { z } from 'zod';
import { didYouMean } from './suggest.js';
import type { PathSegment } from './locate.js';

export interface IssueProblem {
  path: PathSegment[];
  /** Locate the key at `path` rather than its value (unknown or badly named keys). */
  atKey: boolean;
  message: string;
}

type Issue = z.core.$ZodIssue;

/** The value at `path` in the data as read, or undefined. */
export function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let value = data;
  for (const seg of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[seg];
  }
  return value;
}

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value) ?? String(value);
}

/** "Invalid input: expected number, received string" → "expected number, received string". */
function plain(message: string): string {
  return message.replace(/^Invalid input: /, '').replace(/^Invalid option: /, '');
}

/** Whether a union branch failed only because the value was of another type. */
function wrongType(issues: readonly Issue[]): boolean {
  return issues.length > 0 && issues.every((i) => i.code === 'invalid_type' && i.path.length === 0);
}

function convert(issue: Issue, base: PathSegment[], data: unknown, out: IssueProblem[]): void {
  const path = [...base, ...(issue.path as PathSegment[])];
  if (issue.code !== 'unrecognized_keys' && issue.code !== 'invalid_key' && valueAt(data, path) === undefined) {
    out.push({ path, atKey: false, message: `required — ${plain(issue.message).replace(/, received undefined$/, '')}` });
    return;
  }
  switch (issue.code) {
    case 'unrecognized_keys': {
      const lines = issue.message.split('\n');
      issue.keys.forEach((key, i) => {
        out.push({ path: [...path, key], atKey: true, message: lines[i] ?? `unknown key '${key}'` });
      });
      return;
    }
    case 'invalid_union': {
      const matched = issue.errors.filter((branch) => !wrongType(branch));
      if (matched.length === 1) {
        for (const inner of matched[0]) convert(inner, path, data, out);
        return;
      }
      break;
    }
    case 'invalid_value': {
      const value = valueAt(data, path);
      const options = issue.values.map(String);
      out.push({
        path, atKey: false,
        message: `${show(value)} is not one of ${options.join(', ')}${typeof value === 'string' ? didYouMean(value, options) : ''}`,
      });
      return;
    }
    case 'too_big':
      out.push({ path, atKey: false, message: `${show(valueAt(data, path))} is too big: at most ${String(issue.maximum)}${issue.inclusive ? '' : ' (exclusive)'}` });
      return;
    case 'too_small':
      if (issue.origin === 'array') break;
      out.push({
        path, atKey: false,
        message: issue.inclusive
          ? `${show(valueAt(data, path))} is too small: at least ${String(issue.minimum)}`
          : `${show(valueAt(data, path))} is too small: above ${String(issue.minimum)}`,
      });
      return;
    case 'invalid_key':
      out.push({ path, atKey: true, message: `${show(path[path.length - 1])}: ${plain(issue.issues[0]?.message ?? issue.message)}` });
      return;
    default:
      break;
  }
  out.push({ path, atKey: false, message: plain(issue.message) });
}

/** Every issue of a failed parse, as problems with paths. */
export function issueProblems(issues: readonly Issue[], data: unknown): IssueProblem[] {
  const out: IssueProblem[] = [];
  for (const issue of issues) convert(issue, [], data, out);
  return out;
}
