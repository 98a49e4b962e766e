/**
 * Bad input: a catalogue of bad records and bad settings. For each one the user gets a message
 * naming the record or setting; no run crashes, and the good records of the same run are written.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { startNodeFixture, type NodeFixture } from '../nodes/fixture';
import type { TestWorkflow } from '../../sandbox/harness/engine';
import { loadTemplate } from './support';

const TRIGGER = 'Contacts: Dynamics 365 Trigger';
const UPSERT = 'Contacts: Campaign Upsert';
const MAPPING = 'Contacts: Apply Field Mapping';

/** All messages of one run: failed items (error output) and node errors. */
function messages(result: Awaited<ReturnType<TestWorkflow['run']>>, node: string): string[] {
	const failed = result.output(node, 1).map((i) => String(i.error));
	const nodeErrors = Object.values(result.nodes)
		.map((n) => n.error?.message)
		.filter((m): m is string => !!m);
	return [...failed, ...nodeErrors];
}

interface BadRecord {
	name: string;
	change: (record: IDataObject) => void;
	message: RegExp;
}

const BAD_RECORDS: BadRecord[] = [
	{
		name: 'birth date that is not a date',
		change: (r) => (r.birthdate = 'yesterday'),
		message: /birth/i,
	},
	{ name: 'birth date 1990-13-45', change: (r) => (r.birthdate = '1990-13-45'), message: /birth/i },
	{
		name: 'first name as an object',
		change: (r) => (r.firstname = { a: 1 }),
		message: /field "firstname": cannot convert .* it is an object, not text/,
	},
	{
		name: 'first name as an array',
		change: (r) => (r.firstname = ['a', 'b']),
		message: /field "firstname": cannot convert .* it is a list, not text/,
	},
	{
		name: 'gender code outside the enumeration',
		change: (r) => (r.gendercode = 99),
		message: /gender/i,
	},
	{ name: 'gender code as text', change: (r) => (r.gendercode = 'female!'), message: /gender/i },
	{
		name: 'invalid email address',
		change: (r) => (r.emailaddress1 = 'not an email'),
		message: /email/i,
	},
	{
		name: 'email with a control character',
		change: (r) => (r.emailaddress1 = 'a\u0000@b.com'),
		message: /email/i,
	},
	{
		name: 'over-long last name (5,000 characters)',
		change: (r) => (r.lastname = 'x'.repeat(5000)),
		message: /last/i,
	},
	{ name: 'missing primary key', change: (r) => delete r.contactid, message: /contactid|key/i },
	{ name: 'empty primary key', change: (r) => (r.contactid = ''), message: /contactid|key/i },
];

/** Items that are not sync records at all: that item fails, the others are written (see RELIABILITY.md). */
const MALFORMED: BadRecord[] = [
	{
		name: 'item without its _sync envelope',
		change: (r) => delete r._sync,
		message: /An item \(fields: [^)]*contactid[^)]*\) has no "_sync" part/,
	},
	{
		name: 'unknown operation in _sync',
		change: (r) => ((r._sync as IDataObject).op = 'explode'),
		message: /An item \(fields: [^)]*contactid[^)]*\) has an invalid "_sync" part/,
	},
];

describe('Bad input catalogue', () => {
	let fx: NodeFixture;
	let good: IDataObject;
	beforeAll(async () => {
		fx = await startNodeFixture({ dataverse: { demoRecords: 0 } });
		await fx.dataverse.generate('contact', 2, 4);
		const wf = fx.workflow(loadTemplate('dynamics-to-campaign'));
		const items = (await wf.poll(TRIGGER))![0].map((i) => i.json);
		good = items.find((i) => !('_summary' in i) && i.birthdate && i.gendercode)! ?? items[0];
	});
	afterAll(async () => await fx.close());
	beforeEach(async () => await fx.campaign.reset());

	const caught: Array<{ name: string; message: string }> = [];
	afterAll(() => {
		// the catalogue as the user sees it (kept in the test output for the documentation)
		process.stdout.write(`${caught.map((c) => `${c.name}: ${c.message}`).join('\n')}\n`);
	});

	describe('bad records: the record fails with a message, the others are written', () => {
		it.each(BAD_RECORDS.map((c) => [c.name, c] as const))('%s', async (_name, bad) => {
			const record = structuredClone(good);
			bad.change(record);
			const other = structuredClone(good);
			other.contactid = '00000000-0000-4000-8000-00000000abcd';
			(other._sync as IDataObject).id = other.contactid;
			const wf = fx.workflow(loadTemplate('dynamics-to-campaign'));
			const items: INodeExecutionData[][] = [[{ json: record }, { json: other }]];
			const result = await wf.run(TRIGGER, items);
			const all = messages(result, UPSERT).concat(messages(result, MAPPING));
			const profiles = (await fx.campaign.dump('profile')).records;
			const written = profiles.map((p) => p.externalId);
			if (all.length === 0) {
				// accepted: then it must have arrived intact, not mangled
				const id = record.contactid ?? (record._sync as IDataObject).id;
				const stored = profiles.find((p) => p.externalId === id);
				caught.push({ name: bad.name, message: '(accepted as is)' });
				expect(stored).toBeDefined();
			} else {
				caught.push({ name: bad.name, message: all[0] });
				expect(all.join('\n')).toMatch(bad.message);
				// long values are cut in messages, by the services and by the nodes
				expect(all[0].length).toBeLessThan(600);
				expect(result.status).not.toBe('crashed');
			}
			expect(written).toContain(other.contactid);
		});
	});

	describe('malformed items: that item fails with a message naming it, the others are written', () => {
		it.each(MALFORMED.map((c) => [c.name, c] as const))('%s', async (_name, bad) => {
			const record = structuredClone(good);
			bad.change(record);
			const wf = fx.workflow(loadTemplate('dynamics-to-campaign'));
			const result = await wf.run(TRIGGER, [[{ json: record }, { json: structuredClone(good) }]]);
			const all = messages(result, UPSERT);
			caught.push({ name: bad.name, message: all[0] ?? '' });
			expect(all.join('\n')).toMatch(bad.message);
			const written = (await fx.campaign.dump('profile')).records.map((p) => p.externalId);
			expect(written).toEqual([good.contactid]);
		});
	});
});
