/**
 * PHP-style form bodies. amoCRM and Bitrix24 both post webhooks as
 * application/x-www-form-urlencoded built with PHP's http_build_query:
 * `leads[status][0][id]=1&account[subdomain]=x`. `parsePhpForm` turns that into nested
 * objects (numeric keys stay object keys, as PHP's own parser keeps them: `{ "0": {…} }`),
 * and `buildPhpQuery` does the reverse for Bitrix24 batch commands. Pure.
 */
export type FormValue = string | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

export function parsePhpForm(body: string): FormObject {
  const root: FormObject = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    // A key PHP would not nest (stray brackets) is kept flat rather than guessed at.
    const path = m ? [m[1]!, ...[...m[2]!.matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1]!)] : [rawKey];
    let node = root;
    for (let i = 0; i < path.length; i++) {
      let key = path[i]!;
      // `a[]=x&a[]=y` appends, as in PHP.
      if (key === '') key = String(Object.keys(node).length);
      if (i === path.length - 1) {
        node[key] = value;
      } else {
        const next = node[key];
        if (typeof next === 'object') node = next;
        else node = node[key] = {};
      }
    }
  }
  return root;
}

/** http_build_query for nested plain data (arrays are indexed, booleans are 1/0). */
export function buildPhpQuery(data: Record<string, unknown>): string {
  const out = new URLSearchParams();
  const walk = (prefix: string, v: unknown): void => {
    if (v === undefined || v === null) return;
    if (Array.isArray(v)) v.forEach((x, i) => walk(`${prefix}[${i}]`, x));
    else if (typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}[${k}]` : k, x);
    else out.append(prefix, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  };
  walk('', data);
  return out.toString();
}
