import type { SyncMeta, SyncRecord } from '../../../lib/sync';

let n = 0;
/** A contact record as the Dynamics Trigger emits it. */
export function contact(
	fields: Record<string, unknown> = {},
	meta: Partial<SyncMeta> = {},
): SyncRecord {
	n++;
	const id = (meta.id ?? `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`) as string;
	return {
		contactid: id,
		...fields,
		_sync: { table: 'contact', id, op: 'upsert', load: 'incremental', ...meta },
	};
}
