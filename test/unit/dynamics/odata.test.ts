import {
	and,
	contains,
	eq,
	ge,
	inList,
	isKeyUrlSafe,
	keySegment,
	keyUrlProblem,
	ne,
	not,
	ODataFilter,
	ODataSyntaxError,
	odataLiteral,
	or,
	startsWith,
} from '../../../lib/dynamics/odata';

describe('OData literals', () => {
	it('doubles single quotes in strings', () => {
		expect(odataLiteral("O'Bryan", 'string')).toBe("'O''Bryan'");
		expect(odataLiteral("''", 'string')).toBe("''''''");
	});

	it('keeps an injection attempt inside one string literal', () => {
		const literal = odataLiteral("x' or 1 eq 1 or name eq '", 'string');
		expect(literal).toBe("'x'' or 1 eq 1 or name eq '''");
		// Every quote inside the literal is doubled, so the literal never ends early.
		const inner = literal.slice(1, -1);
		expect(inner.replace(/''/g, '')).not.toContain("'");
	});

	it('passes unicode through unchanged', () => {
		expect(odataLiteral('Zoë 北京 🚀', 'string')).toBe("'Zoë 北京 🚀'");
	});

	it('normalises GUIDs and refuses anything else', () => {
		expect(odataLiteral('{0F8FAD5B-D9CB-469F-A165-70867728950E}', 'guid')).toBe(
			'0f8fad5b-d9cb-469f-a165-70867728950e',
		);
		expect(() => odataLiteral("0f8fad5b-d9cb-469f-a165-70867728950e' or 1 eq 1", 'guid')).toThrow(
			ODataSyntaxError,
		);
		expect(() => odataLiteral('not-a-guid', 'guid')).toThrow(/Invalid GUID/);
	});

	it('writes date-times as ISO 8601 and refuses other text', () => {
		expect(odataLiteral(new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), 'datetime')).toBe(
			'2024-01-02T03:04:05.000Z',
		);
		expect(odataLiteral('2024-01-02T03:04:05Z', 'datetime')).toBe('2024-01-02T03:04:05Z');
		expect(odataLiteral('2024-01-02', 'datetime')).toBe('2024-01-02');
		expect(() => odataLiteral('2024-01-02 or 1 eq 1', 'datetime')).toThrow(ODataSyntaxError);
		expect(() => odataLiteral('2024-13-45T00:00:00Z', 'datetime')).toThrow(ODataSyntaxError);
		expect(() => odataLiteral(new Date('nope'), 'datetime')).toThrow(ODataSyntaxError);
	});

	it('writes numbers, booleans and null, refusing mismatched values', () => {
		expect(odataLiteral(42, 'number')).toBe('42');
		expect(odataLiteral(-1.5, 'number')).toBe('-1.5');
		expect(odataLiteral('12.50', 'number')).toBe('12.50');
		expect(() => odataLiteral('1 or 1 eq 1', 'number')).toThrow(ODataSyntaxError);
		expect(() => odataLiteral(NaN, 'number')).toThrow(ODataSyntaxError);
		expect(() => odataLiteral(Infinity, 'number')).toThrow(ODataSyntaxError);
		expect(odataLiteral(true, 'boolean')).toBe('true');
		expect(odataLiteral(false, 'boolean')).toBe('false');
		expect(() => odataLiteral('true', 'boolean')).toThrow(ODataSyntaxError);
		expect(odataLiteral(null, 'null')).toBe('null');
		expect(() => odataLiteral('null', 'null')).toThrow(ODataSyntaxError);
		expect(() => odataLiteral(5, 'string')).toThrow(ODataSyntaxError);
	});
});

describe('Filter builder', () => {
	it('builds comparisons with inferred literal types', () => {
		expect(eq('lastname', "O'Bryan").toString()).toBe("lastname eq 'O''Bryan'");
		expect(ne('statecode', 0).toString()).toBe('statecode ne 0');
		expect(eq('donotemail', true).toString()).toBe('donotemail eq true');
		expect(ge('modifiedon', new Date(Date.UTC(2024, 5, 1))).toString()).toBe(
			'modifiedon ge 2024-06-01T00:00:00.000Z',
		);
		expect(eq('contactid', '0F8FAD5B-D9CB-469F-A165-70867728950E', 'guid').toString()).toBe(
			'contactid eq 0f8fad5b-d9cb-469f-a165-70867728950e',
		);
		expect(eq('emailaddress1', null).toString()).toBe('emailaddress1 eq null');
	});

	it('combines filters with and, or, not and parentheses', () => {
		const filter = and(eq('statecode', 0), or(eq('firstname', 'Ana'), startsWith('lastname', 'M')));
		expect(filter.toString()).toBe(
			"(statecode eq 0) and ((firstname eq 'Ana') or (startswith(lastname,'M')))",
		);
		expect(not(contains('fullname', "a'b")).toString()).toBe("not (contains(fullname,'a''b'))");
		expect(inList('gendercode', [1, 2]).toString()).toBe('(gendercode eq 1) or (gendercode eq 2)');
		expect(and(eq('a', 1)).toString()).toBe('a eq 1');
	});

	it('allows navigation paths of identifiers', () => {
		expect(eq('primarycontactid/fullname', 'Ana').toString()).toBe(
			"primarycontactid/fullname eq 'Ana'",
		);
	});

	it.each([
		['first name'],
		['name)'],
		['fn(x'],
		["name eq 'a' or 1"],
		['1column'],
		[''],
		['a//b'],
		['name;drop'],
	])('refuses the field name %j', (field) => {
		expect(() => eq(field, 'x')).toThrow(/Invalid column name/);
	});

	it('refuses raw strings where filters are expected', () => {
		const raw = '1 eq 1' as unknown as ODataFilter;
		expect(() => and(eq('a', 1), raw)).toThrow(/only filters made by the filter builder/);
		expect(() => not(raw)).toThrow(ODataSyntaxError);
		expect(() => or()).toThrow(/at least one/);
		expect(() => new ODataFilter(Symbol('odata-filter-builder'), '1 eq 1')).toThrow(
			/filter builder/,
		);
	});
});

describe('Record keys', () => {
	it('writes a primary key as a bare GUID', () => {
		expect(keySegment('{0F8FAD5B-D9CB-469F-A165-70867728950E}')).toBe(
			'(0f8fad5b-d9cb-469f-a165-70867728950e)',
		);
	});

	it('escapes and URL-encodes alternate key values', () => {
		expect(keySegment({ emailaddress1: "o'brien@example.com", accountnumber: 7 })).toBe(
			"(emailaddress1='o''brien%40example.com',accountnumber=7)",
		);
		expect(keySegment({ code: "a#d e'f" })).toBe("(code='a%23d%20e''f')");
	});

	it('refuses key values holding a character Dataverse does not accept in a key URL', () => {
		// define-alternate-keys-entity.md: / < > * % & : \ ? + make retrieve, update and upsert fail.
		for (const ch of ['/', '<', '>', '*', '%', '&', ':', '\\', '?', '+']) {
			expect(keyUrlProblem(`EV${ch}1`)).toBe(ch);
			expect(() => keySegment({ code: `EV${ch}1` })).toThrow(/does not accept in a key URL/);
		}
		expect(keyUrlProblem('EV-1 #x')).toBeUndefined();
		expect(isKeyUrlSafe({ a: 'x', b: 2 })).toBe(true);
		expect(isKeyUrlSafe({ a: 'x', b: 'y:z' })).toBe(false);
	});

	it('refuses bad key column names and empty keys', () => {
		expect(() => keySegment({ 'bad name': 'x' })).toThrow(/Invalid column name/);
		expect(() => keySegment({})).toThrow(/at least one column/);
		expect(() => keySegment('nope')).toThrow(/Invalid GUID/);
	});
});
