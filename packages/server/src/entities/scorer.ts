// A registered scorer's version (MLflow 3's ScorerVersion): which experiment and name it belongs to,
// its number, the serialized scorer the client stored (opaque JSON text to the server) and when.
export interface ScorerVersion {
  experimentId: string;
  scorerName: string;
  scorerVersion: number;
  serializedScorer: string;
  creationTime: number;
  scorerId: string;
}
