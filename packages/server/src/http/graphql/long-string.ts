// MLflow's LongString scalar: int64 values (timestamps, steps, sizes) sent as strings, since
// JavaScript numbers lose precision past 2^53.
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

function toInteger(value: unknown): number {
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n)) return n;
  throw new GraphQLError(`LongString cannot represent a non-integer value: ${JSON.stringify(value)}`);
}

export const LongString = new GraphQLScalarType<number | null, string>({
  name: 'LongString',
  description: 'Long converted to string to prevent truncation to max integer in JavaScript',
  serialize: (value) => String(value),
  parseValue: (value) => toInteger(value),
  // MLflow reads an integer literal and treats any other literal as null.
  parseLiteral: (node) => (node.kind === Kind.INT ? Number(node.value) : null),
});
