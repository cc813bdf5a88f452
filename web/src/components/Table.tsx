/**
 * The data table every report uses: click a header to sort (again to reverse), numbers right
 * aligned, an optional CSV export of exactly the rows shown, in the order shown.
 */
import type { ComponentChild } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { t } from '../i18n';
import { downloadCsv, toCsv } from './csv';

export type CellValue = string | number | boolean | null | undefined;

export interface Column<R> {
  key: string;
  label: string;
  /** The raw value: sorted on and exported. */
  value(row: R): CellValue;
  /** What the cell shows; defaults to the raw value. */
  render?(row: R): ComponentChild;
  align?: 'left' | 'right';
  sortable?: boolean;
}

export interface TableProps<R> {
  columns: ReadonlyArray<Column<R>>;
  rows: readonly R[];
  rowKey(row: R, index: number): string;
  /** Column key and direction of the first sort; unsorted keeps the API's order. */
  initialSort?: { key: string; dir: 'asc' | 'desc' };
  /** File name for the CSV button; no button without it. */
  csvName?: string;
  empty?: string;
  testId?: string;
}

export function compareCells(a: CellValue, b: CellValue): number {
  // Empty cells sort last in either direction would surprise; they sort as the smallest.
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

export function Table<R>(props: TableProps<R>) {
  const [sort, setSort] = useState(props.initialSort ?? null);
  const rows = useMemo(() => {
    const col = sort && props.columns.find((c) => c.key === sort.key);
    if (!col || !sort) return props.rows;
    const dir = sort.dir === 'asc' ? 1 : -1;
    return [...props.rows].sort((a, b) => dir * compareCells(col.value(a), col.value(b)));
  }, [props.rows, props.columns, sort]);

  const toggle = (key: string) =>
    setSort((s) => (s?.key === key ? { key, dir: s.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: 'desc' }));

  return (
    <div class="table-wrap" data-testid={props.testId}>
      {props.csvName && rows.length > 0 && (
        <div class="table-tools">
          <button class="btn btn-ghost" type="button" onClick={() => downloadCsv(props.csvName!, toCsv(props.columns, rows))}>
            {t('table.csv')}
          </button>
        </div>
      )}
      <table class="table">
        <thead>
          <tr>
            {props.columns.map((c) => {
              const active = sort?.key === c.key;
              const sortable = c.sortable !== false;
              return (
                <th
                  key={c.key}
                  class={`${c.align === 'right' ? 'num' : ''} ${sortable ? 'sortable' : ''}`}
                  aria-sort={active ? (sort!.dir === 'asc' ? 'ascending' : 'descending') : undefined}
                  onClick={sortable ? () => toggle(c.key) : undefined}
                >
                  {c.label}
                  {active && <span class="sort-mark">{sort!.dir === 'asc' ? ' ▲' : ' ▼'}</span>}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td class="empty" colSpan={props.columns.length}>
                {props.empty ?? t('table.empty')}
              </td>
            </tr>
          ) : (
            rows.map((r, i) => (
              <tr key={props.rowKey(r, i)}>
                {props.columns.map((c) => (
                  <td key={c.key} class={c.align === 'right' ? 'num' : undefined} data-col={c.key}>
                    {c.render ? c.render(r) : String(c.value(r) ?? '—')}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
