import {
	cloneRecord,
	countOutcome,
	createSummary,
	getSync,
	isSyncRecord,
	mergeSummaries,
	summaryItem,
} from '../../../lib/sync';
import { contact } from './helpers';

describe('Record envelope', () => {
	it('recognises items from the Dynamics Trigger', () => {
		expect(isSyncRecord(contact())).toBe(true);
		expect(isSyncRecord({ firstname: 'Ana' })).toBe(false);
		expect(isSyncRecord({ _sync: { table: 'contact', id: '1', op: 'merge' } })).toBe(false);
	});

	it('tells the user to wire the node after the Dynamics Trigger when _sync is missing', () => {
		expect(() => getSync({ firstname: 'Ana' }, 3)).toThrow(
			/^Input item 3 has no "_sync" part: this node expects items from the Dynamics Trigger/,
		);
		expect(() => getSync({ _sync: {} })).toThrow(/An input item has an invalid "_sync" part/);
		const r = contact();
		expect(getSync(r)).toBe(r._sync);
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

	it('adds counters across runs but keeps the latest backlog', () => {
		const a = { ...createSummary(), updated: 1, backlog: 100 };
		const b = { ...createSummary(), updated: 2, backlog: 30 };
		expect(mergeSummaries(a, b)).toMatchObject({ updated: 3, backlog: 30 });
	});
});
