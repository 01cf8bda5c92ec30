import { type ErrorDetail, ValidationError } from './errors.js';

/** `{{ name }}` or `{{name}}`, with dotted paths into the parameters: `{{ repo.branch }}`. */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*)\s*\}\}/g;

/** The distinct placeholder names of a template, in order of first appearance. */
export function templateVariables(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((match) => match[1] as string))];
}

function lookup(parameters: Record<string, unknown>, path: string): unknown {
  let value: unknown = parameters;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function display(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Fills every placeholder from `parameters`. A placeholder with no value (absent or null) is an
 * error; all of them are listed at once so the caller can fix the request in one go.
 */
export function renderTemplate(template: string, parameters: Record<string, unknown>): string {
  const missing = templateVariables(template).filter((name) => {
    const value = lookup(parameters, name);
    return value === undefined || value === null;
  });
  if (missing.length > 0) {
    const details: ErrorDetail[] = missing.map((name) => ({
      path: `parameters.${name}`,
      message: 'is required by the prompt template',
      code: 'missing_parameter',
    }));
    throw new ValidationError(details, `Missing template parameters: ${missing.join(', ')}.`);
  }
  return template.replace(PLACEHOLDER, (_match, name: string) => display(lookup(parameters, name)));
}
