/**
 * Hash routing (`#/funnel`, `#/config/queues`): the server needs no route per page, and a
 * link or reload lands on the same page. A route is `<page id>/<rest>`.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  page: string;
  /** What follows the page id, e.g. `queues` in `#/config/queues`. */
  rest: string;
}

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#\/?/, '').split('?')[0] ?? '';
  const [page = '', ...rest] = path.split('/').filter(Boolean);
  return { page: decodeURIComponent(page), rest: rest.map(decodeURIComponent).join('/') };
}

export function navigate(page: string, rest = ''): void {
  window.location.hash = `#/${[page, rest].filter(Boolean).join('/')}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
