/**
 * What the Dynamics 365 → Campaign template must write, worked out by hand from its settings
 * (never through the nodes' code), so tests of the nodes, of a real n8n, of faults and of crashes
 * all hold the sync to the same independent answer.
 */
export type Row = Record<string, unknown>;

/** The template's Field Replacement on gendercode. */
const GENDER: Record<number, string> = { 1: 'male', 2: 'female' };

/** Unset values read back as "", null, absent or the enumeration's "unknown": all mean none. */
export function noValue(value: unknown): unknown {
	return value === undefined || value === null || value === '' || value === 'unknown'
		? null
		: value;
}

/** The profile the contacts chain writes for a contact (unset values as null). */
export function expectedProfile(contact: Row): Row {
	return {
		externalId: contact.contactid,
		firstName: noValue(contact.firstname),
		lastName: noValue(contact.lastname),
		email: noValue(contact.emailaddress1),
		birthDate: noValue(contact.birthdate),
		gender: typeof contact.gendercode === 'number' ? GENDER[contact.gendercode] : null,
	};
}

/** The fields of `expected` that `actual` holds differently (none = the record is right). */
export function wrongFields(expected: Row, actual: Row | undefined): string[] {
	return Object.keys(expected).filter(
		(field) => noValue(actual?.[field]) !== noValue(expected[field]),
	);
}
