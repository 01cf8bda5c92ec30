import { useEffect, useState } from 'preact/hooks';
import { parseRoute, type Route } from './routes.js';

export { links, type Route } from './routes.js';

/** Goes to a view; `replace` keeps the history entry (filters typed into a search box). */
export function navigate(href: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', href);
  else location.hash = href.slice(1);
  if (options.replace) dispatchEvent(new HashChangeEvent('hashchange'));
}

/** The current route, re-read on every hash change. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
