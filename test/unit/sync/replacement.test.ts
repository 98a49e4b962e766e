import { SyncSettingsError, compileReplacements, type DynamicsColumn } from '../../../lib/sync';
import { contact } from './helpers';

const columns: DynamicsColumn[] = [
	{
		logicalName: 'gendercode',
		attributeType: 'Picklist',
		options: [
			{ value: 1, label: 'Male' },
			{ value: 2, label: 'Female' },
			{ value: 3, label: 'Other' },
		],
	},
	{ logicalName: 'donotemail', attributeType: 'Boolean' },
	{ logicalName: 'jobtitle', attributeType: 'String' },
	{ logicalName: 'parentcustomerid', attributeType: 'Customer' },
];

describe('Field Replacements', () => {
	it('writes the new value when the field holds the existing value, matching "2" with 2', () => {
		const r = compileReplacements([{ field: 'gendercode', existingValue: '2', newValue: '3' }], {
			columns,
		});
		const record = contact({ gendercode: 2 }, { labels: { gendercode: 'Female' } });
		const out = r.apply(record);
		expect(out.gendercode).toBe(3);
		expect(out._sync.labels).toEqual({ gendercode: 'Other' }); // the option's label, never the stale one
		expect(record.gendercode).toBe(2); // input untouched
	});

	it('uses the new value as the label when it is not an option (display values then carry it too)', () => {
		const r = compileReplacements(
			[{ field: 'gendercode', existingValue: 'Female', newValue: 'F' }],
			{ columns },
		);
		const out = r.apply(contact({ gendercode: 2 }, { labels: { gendercode: 'Female' } }));
		expect(out._sync.labels?.gendercode).toBe('F');
	});

	it('replaces a lookup named by its id in any case, or by its display name, and forgets its table', () => {
		const id = 'aaaaaaaa-0000-0000-0000-00000000000a';
		const record = contact(
			{ _parentcustomerid_value: id },
			{
				labels: { _parentcustomerid_value: 'Contoso Ltd' },
				lookupTables: { parentcustomerid: 'account' },
			},
		);
		for (const existingValue of [id.toUpperCase(), 'contoso ltd']) {
			const r = compileReplacements(
				[{ field: 'parentcustomerid', existingValue, newValue: 'Contoso Group' }],
				{ columns },
			);
			const out = r.apply(record);
			expect(out._parentcustomerid_value).toBe('Contoso Group');
			expect(out._sync.labels).toEqual({ parentcustomerid: 'Contoso Group' });
			expect(out._sync.lookupTables).toEqual({});
		}
		expect(record._sync.lookupTables).toEqual({ parentcustomerid: 'account' });
	});

	it('matches booleans from words: "true" matches true', () => {
		const r = compileReplacements(
			[{ field: 'donotemail', existingValue: 'true', newValue: 'false' }],
			{ columns },
		);
		expect(r.apply(contact({ donotemail: true })).donotemail).toBe(false);
		expect(r.apply(contact({ donotemail: false })).donotemail).toBe(false);
	});

	it('leaves records that do not hold the existing value as they are (same object)', () => {
		const r = compileReplacements([
			{ field: 'jobtitle', existingValue: 'CEO', newValue: 'Chief Executive' },
		]);
		const record = contact({ jobtitle: 'CTO' });
		expect(r.apply(record)).toBe(record);
		expect(r.matching(record)).toEqual([]);
		expect(r.apply(contact({ jobtitle: 'CEO' })).jobtitle).toBe('Chief Executive');
	});

	it('keeps the type of the source value when no metadata is given', () => {
		const r = compileReplacements([{ field: 'gendercode', existingValue: '1', newValue: '2' }]);
		expect(r.apply(contact({ gendercode: 1 })).gendercode).toBe(2);
	});

	it('applies one rule per field, on the source value (one replacement never feeds another)', () => {
		const r = compileReplacements([
			{ field: 'jobtitle', existingValue: 'A', newValue: 'B' },
			{ field: 'jobtitle', existingValue: 'B', newValue: 'C' },
		]);
		expect(r.apply(contact({ jobtitle: 'A' })).jobtitle).toBe('B');
		expect(r.apply(contact({ jobtitle: 'B' })).jobtitle).toBe('C');
	});

	it('requires the field to be one of the mapped Dynamics fields', () => {
		expect(() =>
			compileReplacements([{ field: 'jobtitle', existingValue: 'x', newValue: 'y' }], {
				mappedFields: ['firstname'],
			}),
		).toThrow(/row 1: "jobtitle" is not a mapped Dynamics field/);
		expect(() =>
			compileReplacements([{ field: 'jobtitle', existingValue: 'x', newValue: 'y' }], {
				mappedFields: ['firstname'],
			}),
		).toThrow(SyncSettingsError);
	});

	it('rejects two rows replacing the same value of the same field', () => {
		expect(() =>
			compileReplacements([
				{ field: 'gendercode', existingValue: 1, newValue: 'a' },
				{ field: 'gendercode', existingValue: '1', newValue: 'b' },
			]),
		).toThrow(/rows 1 and 2 both replace "1" in "gendercode"/);
	});

	it('leaves deletes alone', () => {
		const r = compileReplacements([{ field: 'jobtitle', existingValue: 'CEO', newValue: 'x' }]);
		const deleted = contact({ jobtitle: 'CEO' }, { op: 'delete' });
		expect(r.apply(deleted)).toBe(deleted);
	});
});
