import { readFile } from 'node:fs/promises';

/** The name of the document's copy beside the API function's bundle (the stack puts it there). */
export const OPENAPI_DOCUMENT_FILE = 'openapi.json';

/** The repository's committed document, `npm run openapi`'s output. */
export const REPOSITORY_OPENAPI_DOCUMENT = new URL('../../docs/openapi.json', import.meta.url);

/**
 * The committed OpenAPI document at `location`, read on first use and kept: the API serves the file as
 * it is, never builds it. A deployment names where its copy is (the stack puts it beside the API bundle).
 */
export function openApiDocumentFile(location: URL | string): () => Promise<string> {
  let text: Promise<string> | undefined;
  return () => {
    text ??= readFile(location, 'utf8').catch((error: unknown) => {
      // A failed read is not kept: the next request tries again.
      text = undefined;
      throw error;
    });
    return text;
  };
}
