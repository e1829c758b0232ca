import type { HttpResult } from './handler.ts';
import { problem } from './problems.ts';
import { ROUTES } from './routes.ts';

const templates = ROUTES.map((r) => ({
  method: r.method,
  regex: new RegExp(`^${r.path.replace(/\{\w+\}/g, '[^/]+')}$`),
}));

/**
 * What the `$default` route answers, for a request no route takes: 405 with `Allow` when some
 * route has the path (with another method), else 404. Problem details either way, never the
 * path itself (it can hold a phone number).
 */
export function unknownRoute(method: string, path: string): HttpResult {
  const allowed = [...new Set(templates.filter((t) => t.regex.test(path)).map((t) => t.method))].sort();
  if (allowed.length === 0) {
    return {
      status: 404,
      body: problem(
        'not-found',
        'Not found.',
        404,
        'No route has this path; the API is described at /openapi.json.',
      ),
    };
  }
  return {
    status: 405,
    body: problem(
      'method-not-allowed',
      'Method not allowed.',
      405,
      `This path takes ${allowed.join(', ')}, not ${method.slice(0, 16)}.`,
    ),
    headers: { allow: allowed.join(', ') },
  };
}
