/**
 * docs/CAMPAIGN-SETUP.md is what a user builds from; the node's defaults must be its names, and the
 * sandbox must hold what it describes, or a user following it would get a setup the node cannot
 * read.
 */
import { readFileSync } from 'fs';
import path from 'path';

import { DEFAULT_EVENT_FIELDS } from '../../../lib/sync/events';
import {
	CAMPAIGN_EVENT_DEFAULTS,
	DEFAULT_ACTIVITY_COLUMNS,
	DEFAULT_PROFILE_KEY,
	DEFAULT_TABLES,
} from '../../../lib/flows/events-export/settings';
import { emailEventResources, EMAIL_EVENT_RESOURCE } from '../../../sandbox/campaign/email-events';
import { DEFAULT_SCHEMA } from '../../../sandbox/dataverse/schema';

const doc = readFileSync(path.join(__dirname, '../../../docs/CAMPAIGN-SETUP.md'), 'utf8');

/** The rows of the markdown table that follows `heading` (cells, backticks kept). */
function tableAfter(heading: string): string[][] {
	const start = doc.indexOf(heading);
	expect(start).toBeGreaterThanOrEqual(0);
	const lines = doc.slice(start).split('\n');
	const first = lines.findIndex((l) => l.trim().startsWith('|'));
	const rows: string[][] = [];
	for (const line of lines.slice(first + 2)) {
		if (!line.trim().startsWith('|')) break;
		rows.push(
			line
				.trim()
				.slice(1, -1)
				.split('|')
				.map((c) => c.trim()),
		);
	}
	return rows;
}

const code = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

describe('docs/CAMPAIGN-SETUP.md', () => {
	const resource = emailEventResources().find((r) => r.name === EMAIL_EVENT_RESOURCE)!;

	it('names the fields of the event resource the node reads by default, and the sandbox has', () => {
		const fields = tableAfter('**Data structure › Fields**').map((row) => code(row[1])[0]);
		const link = /\*\*Links › Create element\*\*[^]*?ID\s+`(\w+)`/.exec(doc)?.[1];
		const ids = [...fields, link];
		expect(ids.sort()).toEqual(resource.fields.map((f) => f.name).sort());
		for (const field of Object.values(DEFAULT_EVENT_FIELDS)) expect(ids).toContain(field);
		expect(doc).toContain('Add audit fields');
		expect(CAMPAIGN_EVENT_DEFAULTS.dateField).toBe('lastModified');
		expect(`cus${'EmailEvent'}`).toBe(CAMPAIGN_EVENT_DEFAULTS.resource);
	});

	it('defines the two filters the node calls, with the parameters Campaign generates', () => {
		const calls = tableAfter('**Filter definition › Add an element**').map(
			(row) => code(row[3])[0],
		);
		expect(calls).toEqual([
			`${CAMPAIGN_EVENT_DEFAULTS.filter}?modifiedSince_parameter=…`,
			'byEventId?eventId_parameter=…',
		]);
		const sandboxCalls = (resource.filters ?? []).map(
			(f) => `${f.name}?${f.param ?? `${f.field}_parameter`}=…`,
		);
		expect(sandboxCalls).toEqual(calls);
		expect(resource.filters?.[0]).toMatchObject({
			field: 'lastModified',
			operator: 'greaterOrEqual',
		});
	});

	it('lists the Dynamics 365 tables and columns the node writes by default, as the sandbox has them', () => {
		const rows = tableAfter('| Table (display name) |');
		const tables = rows.map((row) => code(row[1])[0]);
		expect(tables).toEqual(Object.values(DEFAULT_TABLES));
		const columns = new Set(rows.flatMap((row) => code(row[2])));
		for (const column of Object.values(DEFAULT_ACTIVITY_COLUMNS)) {
			if (column !== 'subject') expect(columns).toContain(column);
		}
		for (const table of tables) {
			const def = DEFAULT_SCHEMA.find((t) => t.logicalName === table)!;
			expect(def.isActivity).toBe(true);
			expect(def.keys).toEqual([
				expect.objectContaining({ attributes: [DEFAULT_ACTIVITY_COLUMNS.eventId] }),
			]);
		}
		expect(doc).toContain(`**Campaign Profile Key**`);
		expect(doc).toContain(`(\`${DEFAULT_PROFILE_KEY}\``);
	});
});
