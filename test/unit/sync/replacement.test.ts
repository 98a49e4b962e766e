import { SyncSettingsError, compileReplacements, type ColumnInfo } from '../../../lib/sync';
import { contact } from './helpers';

const columns: ColumnInfo[] = [
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
