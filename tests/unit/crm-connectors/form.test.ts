import { describe, expect, it } from 'vitest';
import { buildPhpQuery, parsePhpForm } from '../../../crm-bridge/connectors/form';
import { fixtureText } from '../../crm-fakes/common';

describe('parsePhpForm', () => {
  it('nests the captured amoCRM status webhook the way PHP does', () => {
    const form = parsePhpForm(fixtureText('amocrm', 'webhook_leads_status.form.txt'));
    expect(form).toMatchObject({
      leads: {
        status: {
          '0': {
            id: '31926520',
            name: 'Some test lead',
            status_id: '10216994',
            old_status_id: '10216995',
            price: '1000',
            custom_fields: { '0': { id: '1119321', name: 'Some text field', values: { '0': { value: 'some text' } } } },
          },
        },
      },
      account: { subdomain: 'test000002' },
    });
  });

  it('appends for empty brackets and keeps keys with stray brackets flat', () => {
    expect(parsePhpForm('a[]=x&a[]=y&b=1&c]=2')).toEqual({ a: { '0': 'x', '1': 'y' }, b: '1', 'c]': '2' });
  });

  it('decodes Cyrillic and plus-encoded spaces', () => {
    const form = parsePhpForm(fixtureText('amocrm', 'webhook_leads_status.from_docs.DERIVED.form.txt'));
    const lead = (form.leads as Record<string, Record<string, Record<string, Record<string, unknown>>>>).status!['0']!;
    expect((lead.custom_fields as Record<string, Record<string, unknown>>)['3']).toEqual({ id: '427661', name: 'Text custom field', values: { '0': 'Валера' } });
  });
});

describe('buildPhpQuery', () => {
  it('round-trips nested data through parsePhpForm', () => {
    const q = buildPhpQuery({ filter: { CONTACT_ID: 5, STAGE_SEMANTIC_ID: 'P' }, select: ['ID', 'TITLE'], flag: true, skip: undefined });
    expect(q).toBe('filter%5BCONTACT_ID%5D=5&filter%5BSTAGE_SEMANTIC_ID%5D=P&select%5B0%5D=ID&select%5B1%5D=TITLE&flag=1');
    expect(parsePhpForm(q)).toEqual({ filter: { CONTACT_ID: '5', STAGE_SEMANTIC_ID: 'P' }, select: { '0': 'ID', '1': 'TITLE' }, flag: '1' });
  });
});
