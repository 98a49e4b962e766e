import {
	SyncSettingsError,
	compileFilter,
	type DynamicsColumn,
	type FilterRule,
	type FilterSettings,
	type SyncRecord,
} from '../../../lib/sync';
import { contact } from './helpers';

const applyAll = (settings: FilterSettings, records: SyncRecord[]) =>
	compileFilter(settings).applyAll(records);

const columns: DynamicsColumn[] = [
	{ logicalName: 'contactid', attributeType: 'Uniqueidentifier' },
	{ logicalName: 'firstname', attributeType: 'String' },
	{ logicalName: 'numberofchildren', attributeType: 'Integer' },
	{ logicalName: 'creditlimit', attributeType: 'Money' },
	{ logicalName: 'birthdate', attributeType: 'DateOnly' },
	{ logicalName: 'createdon', attributeType: 'DateTime' },
	{ logicalName: 'donotemail', attributeType: 'Boolean' },
	{ logicalName: 'gendercode', attributeType: 'Picklist' },
	{ logicalName: 'parentcustomerid', attributeType: 'Customer' },
];

const one = (rule: FilterRule, withColumns = true) =>
	compileFilter({
		rules: [rule],
		combinator: 'and',
		deleteFilteredOut: false,
		columns: withColumns ? columns : undefined,
	});

describe('Filters', () => {
	it('propagates every modified record when no filters are added', () => {
		const records = [contact({ firstname: 'Ana' }), contact({ firstname: null })];
		const result = applyAll({ rules: [], combinator: 'and', deleteFilteredOut: true }, records);
		expect(result.output).toEqual(records);
		expect(result.dropped).toHaveLength(0);
	});

	it('with And, propagates a record only when every rule is true', () => {
		const f = compileFilter({
			rules: [
				{ field: 'firstname', comparison: 'startsWith', value: 'an' },
				{ field: 'numberofchildren', comparison: 'greater', value: '1' },
			],
			combinator: 'and',
			deleteFilteredOut: false,
		});
		expect(f.matches(contact({ firstname: 'Ana', numberofchildren: 2 }))).toBe(true);
		expect(f.matches(contact({ firstname: 'Ana', numberofchildren: 1 }))).toBe(false);
		const out = f.apply(contact({ firstname: 'Bob', numberofchildren: 3 }));
		expect(out).toMatchObject({
			kind: 'drop',
			reason: 'filtered out: rule 1 (firstname starts with "an") is false',
		});
	});

	it('with Or, propagates a record when any rule is true', () => {
		const f = compileFilter({
			rules: [
				{ field: 'firstname', comparison: 'equals', value: 'Ana' },
				{ field: 'numberofchildren', comparison: 'equals', value: 3 },
			],
			combinator: 'or',
			deleteFilteredOut: false,
		});
		expect(f.matches(contact({ firstname: 'Bob', numberofchildren: 3 }))).toBe(true);
		expect(f.matches(contact({ firstname: 'Ana', numberofchildren: 0 }))).toBe(true);
		expect(f.apply(contact({ firstname: 'Bob', numberofchildren: 0 }))).toMatchObject({
			kind: 'drop',
			reason: 'filtered out: no filter rule is true',
		});
	});

	it('deletes records in Campaign that are filtered out when asked to', () => {
		const record = contact({ firstname: 'Bob' });
		const result = applyAll(
			{
				rules: [{ field: 'firstname', comparison: 'equals', value: 'Ana' }],
				combinator: 'and',
				deleteFilteredOut: true,
			},
			[record],
		);
		expect(result.filteredOutAsDelete).toBe(1);
		expect(result.output[0]._sync).toMatchObject({
			op: 'delete',
			filteredOut: true,
			id: record._sync.id,
		});
		expect(result.output[0]._sync.reason).toContain('firstname equals "Ana"');
		expect(record._sync.op).toBe('upsert'); // input untouched
	});

	it('leaves filtered-out records in Campaign when not asked to, returning them apart for counting', () => {
		const keep = contact({ firstname: 'Ana' });
		const drop = contact({ firstname: 'Bob' });
		const result = applyAll(
			{
				rules: [{ field: 'firstname', comparison: 'equals', value: 'ana' }],
				combinator: 'and',
				deleteFilteredOut: false,
			},
			[keep, drop],
		);
		expect(result.output).toEqual([keep]);
		expect(result.dropped.map((d) => d.record)).toEqual([drop]);
	});

	it('passes deletes from Dynamics through unchanged, whatever the rules', () => {
		const deleted = contact({}, { op: 'delete' });
		const f = compileFilter({
			rules: [{ field: 'firstname', comparison: 'equals', value: 'x' }],
			combinator: 'and',
			deleteFilteredOut: true,
		});
		const out = f.apply(deleted);
		expect(out.kind).toBe('pass');
		expect(out.record).toBe(deleted);
	});

	describe('comparisons', () => {
		const r = contact({
			firstname: 'Zoë',
			numberofchildren: 2,
			creditlimit: 1500.5,
			createdon: '2024-03-01T08:00:00Z',
		});
		const cases: Array<[FilterRule, boolean]> = [
			[{ field: 'numberofchildren', comparison: 'equals', value: '2' }, true],
			[{ field: 'numberofchildren', comparison: 'notEquals', value: '2' }, false],
			[{ field: 'numberofchildren', comparison: 'greater', value: '10' }, false], // numeric, not text order
			[{ field: 'numberofchildren', comparison: 'greaterOrEqual', value: 2 }, true],
			[{ field: 'numberofchildren', comparison: 'less', value: '10' }, true],
			[{ field: 'numberofchildren', comparison: 'lessOrEqual', value: '1' }, false],
			[{ field: 'creditlimit', comparison: 'greater', value: '1500.49' }, true],
			[{ field: 'firstname', comparison: 'contains', value: 'OE' }, true], // case and accents ignored
			[{ field: 'firstname', comparison: 'startsWith', value: 'zo' }, true],
			[{ field: 'firstname', comparison: 'endsWith', value: 'ë' }, true],
			[{ field: 'firstname', comparison: 'endsWith', value: 'a' }, false],
			[{ field: 'firstname', comparison: 'isEmpty' }, false],
			[{ field: 'firstname', comparison: 'isNotEmpty' }, true],
			[{ field: 'createdon', comparison: 'equals', value: '2024-03-01T10:00:00+02:00' }, true],
			[{ field: 'createdon', comparison: 'less', value: '2024-03-01T09:30:00+01:00' }, true],
			[{ field: 'createdon', comparison: 'greater', value: '2024-03-01' }, true],
		];
		it.each(cases)('%j is %s', (rule, expected) => {
			expect(one(rule).matches(r)).toBe(expected);
			expect(one(rule, false).matches(r)).toBe(expected);
		});
	});

	it('treats null and empty strings alike as empty', () => {
		const isEmpty = one({ field: 'firstname', comparison: 'isEmpty' });
		expect(isEmpty.matches(contact({ firstname: null }))).toBe(true);
		expect(isEmpty.matches(contact({ firstname: '' }))).toBe(true);
		expect(isEmpty.matches(contact({ firstname: ' ' }))).toBe(false);
	});

	it('follows Dataverse for missing values: only "not equals" and "is empty" match them', () => {
		const r = contact({ numberofchildren: null });
		expect(one({ field: 'numberofchildren', comparison: 'notEquals', value: 1 }).matches(r)).toBe(
			true,
		);
		expect(one({ field: 'numberofchildren', comparison: 'equals', value: 1 }).matches(r)).toBe(
			false,
		);
		expect(one({ field: 'numberofchildren', comparison: 'less', value: 1 }).matches(r)).toBe(false);
		expect(one({ field: 'numberofchildren', comparison: 'contains', value: '' }).matches(r)).toBe(
			false,
		);
	});

	it('matches text with quotes and non-ASCII characters literally', () => {
		const f = one({ field: 'firstname', comparison: 'equals', value: "O'Brien-Ñúñez" });
		expect(f.matches(contact({ firstname: "o'brien-ñuñez" }))).toBe(true);
		expect(f.matches(contact({ firstname: 'OBrien-Nunez' }))).toBe(false);
		expect(
			one({ field: 'firstname', comparison: 'contains', value: '%' }).matches(
				contact({ firstname: 'abc' }),
			),
		).toBe(false);
	});

	it('reads booleans as true/false/yes/no/1/0, or by their label', () => {
		for (const value of ['true', 'Yes', '1', true]) {
			expect(
				one({ field: 'donotemail', comparison: 'equals', value }).matches(
					contact({ donotemail: true }),
				),
			).toBe(true);
		}
		for (const value of ['false', 'no', '0']) {
			expect(
				one({ field: 'donotemail', comparison: 'equals', value }).matches(
					contact({ donotemail: true }),
				),
			).toBe(false);
		}
		const byLabel = one({ field: 'donotemail', comparison: 'equals', value: 'Do Not Allow' });
		expect(
			byLabel.matches(contact({ donotemail: true }, { labels: { donotemail: 'Do Not Allow' } })),
		).toBe(true);
	});

	it('compares picklists on the technical value, or on the label when the value is not a number', () => {
		const r = contact({ gendercode: 2 }, { labels: { gendercode: 'Female' } });
		expect(one({ field: 'gendercode', comparison: 'equals', value: '2' }).matches(r)).toBe(true);
		expect(one({ field: 'gendercode', comparison: 'equals', value: 'female' }).matches(r)).toBe(
			true,
		);
		expect(one({ field: 'gendercode', comparison: 'equals', value: 'Male' }).matches(r)).toBe(
			false,
		);
		expect(one({ field: 'gendercode', comparison: 'greater', value: 1 }).matches(r)).toBe(true);
		expect(
			one({ field: 'gendercode', comparison: 'equals', value: 'female' }, false).matches(r),
		).toBe(true);
	});

	it('finds lookups under their _<name>_value column', () => {
		const id = 'aaaaaaaa-0000-0000-0000-000000000001';
		const f = one(
			{ field: 'parentcustomerid', comparison: 'equals', value: id.toUpperCase() },
			false,
		);
		expect(f.matches(contact({ _parentcustomerid_value: id }))).toBe(true);
	});

	it('compares a lookup with a GUID by id, and with any other text by its display name', () => {
		const id = 'aaaaaaaa-0000-0000-0000-000000000001';
		const record = contact(
			{ _parentcustomerid_value: id },
			{ labels: { _parentcustomerid_value: 'Contoso Ltd' } },
		);
		const rule = (comparison: FilterRule['comparison'], value: string) =>
			one({ field: 'parentcustomerid', comparison, value }).matches(record);
		expect(rule('equals', 'contoso ltd')).toBe(true);
		expect(rule('equals', `{${id.toUpperCase()}}`)).toBe(true);
		expect(rule('equals', 'Fabrikam')).toBe(false);
		expect(rule('notEquals', 'Contoso Ltd')).toBe(false);
		expect(rule('contains', 'toso')).toBe(true);
		expect(rule('equals', 'bbbbbbbb-0000-0000-0000-000000000001')).toBe(false);
	});

	it('rejects at compile time a rule naming a field the table does not have', () => {
		expect(() => one({ field: 'nickname', comparison: 'equals', value: 'x' })).toThrow(
			/Filters › rule 1: the field "nickname" is not a column of this table/,
		);
	});

	it('without a column list, rejects per record a rule naming a field the record does not have', () => {
		const f = one({ field: 'nickname', comparison: 'equals', value: 'x' }, false);
		expect(() => f.matches(contact({ firstname: 'Ana' }, { id: 'rec-1' }))).toThrow(
			SyncSettingsError,
		);
		expect(() => f.matches(contact({ firstname: 'Ana' }, { id: 'rec-1' }))).toThrow(
			/record rec-1 .*no value for "nickname"/,
		);
	});

	it('rejects a value that cannot be compared with the column type, naming the field', () => {
		expect(() => one({ field: 'creditlimit', comparison: 'greater', value: 'lots' })).toThrow(
			/"creditlimit" is a number column/,
		);
		expect(() => one({ field: 'createdon', comparison: 'equals', value: 'yesterday' })).toThrow(
			/"createdon" is a date column/,
		);
		expect(() => one({ field: 'firstname', comparison: 'between' as never, value: 1 })).toThrow(
			/unknown comparison/,
		);
		expect(() =>
			compileFilter({ rules: [], combinator: 'xor' as never, deleteFilteredOut: false }),
		).toThrow(/"and" or "or"/);
	});

	it('filters 100,000 records in one compiled pass', () => {
		const f = compileFilter({
			rules: [
				{ field: 'firstname', comparison: 'contains', value: 'a' },
				{ field: 'numberofchildren', comparison: 'greaterOrEqual', value: '1' },
				{ field: 'createdon', comparison: 'less', value: '2025-01-01' },
			],
			combinator: 'and',
			deleteFilteredOut: true,
			columns,
		});
		const records = Array.from({ length: 100_000 }, (_, i) =>
			contact({
				firstname: i % 2 ? 'Ana' : 'Bob',
				numberofchildren: i % 3,
				createdon: '2024-06-01T00:00:00Z',
			}),
		);
		const result = f.applyAll(records);
		expect(result.output).toHaveLength(100_000);
		expect(result.filteredOutAsDelete).toBe(
			100_000 - records.filter((_, i) => i % 2 === 1 && i % 3 >= 1).length,
		);
	});
});
