import { randomInt } from 'node:crypto';

// Friendly default run names in MLflow's "<adjective>-<noun>-<number>" form. Our own word lists.
const ADJECTIVES = [
  'able', 'amber', 'bold', 'brave', 'bright', 'calm', 'clever', 'crisp', 'dapper', 'eager', 'fair', 'fleet',
  'gentle', 'glad', 'grand', 'happy', 'honest', 'jolly', 'keen', 'kind', 'lively', 'lucid', 'mellow', 'merry',
  'nimble', 'noble', 'polite', 'proud', 'quick', 'quiet', 'rapid', 'sharp', 'shiny', 'silent', 'smooth', 'solid',
  'steady', 'stellar', 'sunny', 'swift', 'tidy', 'vivid', 'warm', 'wise', 'witty', 'zesty',
];
const NOUNS = [
  'ant', 'bass', 'bat', 'bear', 'bee', 'bird', 'cat', 'cod', 'colt', 'crab', 'crow', 'deer', 'doe', 'dove',
  'duck', 'eel', 'elk', 'finch', 'fox', 'frog', 'gnat', 'goat', 'hare', 'hawk', 'hen', 'jay', 'koi', 'lark',
  'lynx', 'mole', 'moth', 'mule', 'newt', 'owl', 'ox', 'panda', 'pig', 'pug', 'ram', 'seal', 'shrew', 'slug',
  'snail', 'swan', 'toad', 'trout', 'wasp', 'whale', 'wolf', 'wren', 'yak',
];

export function randomRunName(): string {
  const pick = (list: string[]) => list[randomInt(list.length)];
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${randomInt(1000)}`.slice(0, 20);
}
