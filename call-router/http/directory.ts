/**
 * FreeSWITCH's directory over mod_xml_curl: when the router rings `user/<ext>@<account>.callpulse`,
 * FreeSWITCH asks here how to reach that extension. Managers' phones register with the
 * sip-gateway (drachtio), not with FreeSWITCH, so the answer is a dial string that sends the
 * INVITE to the SIP edge, which delivers it to the phone's registered contacts.
 *
 * No credentials are returned: FreeSWITCH never authenticates the phones itself.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Pool } from '../../platform/db/pool';

export interface DirectoryOptions {
  pool: Pool;
  /** Where the SIP edge (drachtio) takes calls for softphones, e.g. `sip:172.28.0.10:5060`. */
  sipEdge: string;
}

const xmlEscape = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
const NOT_FOUND = '<document type="freeswitch/xml"><section name="result"><result status="not found"/></section></document>';

export const freeswitchDirectory: FastifyPluginAsync<DirectoryOptions> = async (app, opts) => {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.post('/freeswitch/directory', { config: { public: true }, schema: { hide: true } }, async (req, reply) => {
    reply.type('text/xml');
    const form = (req.body ?? {}) as Record<string, string>;
    const user = form.user ?? form.key_value ?? '';
    const domain = form.domain ?? '';
    const accountId = /^([0-9a-f-]{36})\.callpulse$/i.exec(domain)?.[1];
    if (form.section !== 'directory' || !accountId || !/^\d{2,8}$/.test(user)) return NOT_FOUND;
    const { rows } = await opts.pool.query<{ ext: string; name: string }>(
      `SELECT e.ext, u.name FROM sip_extensions e JOIN users u ON u.id = e.user_id AND u.active
        WHERE e.account_id = $1 AND e.ext = $2`,
      [accountId, user],
    );
    const r = rows[0];
    if (!r) return NOT_FOUND;
    const d = xmlEscape(domain);
    const dial = `{presence_id=${r.ext}@${domain},sip_invite_domain=${domain}}sofia/internal/${r.ext}@${domain};fs_path=<${opts.sipEdge}>`;
    return `<document type="freeswitch/xml"><section name="directory"><domain name="${d}"><groups><group name="default"><users>` +
      `<user id="${xmlEscape(r.ext)}"><params><param name="dial-string" value="${xmlEscape(dial)}"/></params>` +
      `<variables><variable name="effective_caller_id_name" value="${xmlEscape(r.name)}"/></variables></user>` +
      `</users></group></groups></domain></section></document>`;
  });
};
