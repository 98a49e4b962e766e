import {
	cloneRecord,
	countOutcome,
	createSummary,
	isSyncRecord,
	summaryItem,
} from '../../../lib/sync';
import { contact } from './helpers';

describe('Record envelope', () => {
	it('recognises items from the Dynamics Trigger', () => {
		expect(isSyncRecord(contact())).toBe(true);
		expect(isSyncRecord({ firstname: 'Ana' })).toBe(false);
		expect(isSyncRecord({ _sync: { table: 'contact', id: '1', op: 'merge' } })).toBe(false);
	});

	it('clones a record without sharing _sync or its labels', () => {
		const r = contact({ gendercode: 1 }, { labels: { gendercode: 'Male' } });
		const c = cloneRecord(r);
		c._sync.labels!.gendercode = 'x';
		c._sync.op = 'delete';
		expect(r._sync).toMatchObject({ op: 'upsert', labels: { gendercode: 'Male' } });
	});
});

describe('Run summary', () => {
	it('counts outcomes and reports the total processed', () => {
		const s = createSummary();
		countOutcome(s, 'created', 2);
		countOutcome(s, 'failed');
		s.backlog = 40;
		expect(summaryItem(s)).toEqual({
			summary: {
				created: 2,
				updated: 0,
				deleted: 0,
				unchanged: 0,
				skipped: 0,
				failed: 1,
				backlog: 40,
				processed: 3,
			},
		});
	});
});
