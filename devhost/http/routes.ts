/**
 * Route templates as Azure Functions reads them: literals, `{name}`, optional `{name?}` (last segment),
 * catch-all `{*rest}`, and the common constraints `{id:int}`, `{id:alpha}`, `{id:guid}`, `{id:bool}`.
 */
export interface CompiledRoute {
  template: string;
  match(path: string): Record<string, string> | undefined;
}

const constraints: Record<string, RegExp> = {
  int: /^-?\d+$/,
  long: /^-?\d+$/,
  alpha: /^[A-Za-z]+$/,
  bool: /^(true|false)$/i,
  guid: /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i,
};

interface Segment {
  literal?: string;
  param?: string;
  optional?: boolean;
  catchAll?: boolean;
  constraint?: RegExp;
}

function parseSegment(raw: string, template: string): Segment {
  const m = /^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?(\?)?\}$/.exec(raw);
  if (!m) {
    if (raw.includes('{') || raw.includes('}'))
      throw new Error(`route '${template}': segment '${raw}' is not supported`);
    return { literal: raw.toLowerCase() };
  }
  const [, star, name = '', constraintName, question] = m;
  let constraint: RegExp | undefined;
  if (constraintName) {
    constraint = constraints[constraintName.toLowerCase()];
    if (!constraint) throw new Error(`route '${template}': constraint ':${constraintName}' is not supported`);
  }
  return { param: name, optional: !!question, catchAll: !!star, ...(constraint ? { constraint } : {}) };
}

export function compileRoute(template: string): CompiledRoute {
  const segments = template
    .split('/')
    .filter((s) => s !== '')
    .map((s) => parseSegment(s, template));
  return {
    template,
    match(path: string) {
      const parts = path.split('/').filter((s) => s !== '');
      const params: Record<string, string> = {};
      for (let i = 0; i < segments.length; i++) {
        const seg = segments[i];
        if (!seg) return undefined;
        const part = parts[i];
        if (seg.catchAll && seg.param) {
          params[seg.param] = parts.slice(i).map(safeDecode).join('/');
          return params;
        }
        if (part === undefined) {
          return seg.optional && i === segments.length - 1 ? params : undefined;
        }
        if (seg.literal !== undefined) {
          if (safeDecode(part).toLowerCase() !== seg.literal) return undefined;
        } else if (seg.param) {
          const value = safeDecode(part);
          if (seg.constraint && !seg.constraint.test(value)) return undefined;
          params[seg.param] = value;
        }
      }
      return parts.length === segments.length ? params : undefined;
    },
  };
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
