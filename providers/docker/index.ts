export { DockerProvider } from './provider';
export { decodeDockerOptions, type DockerOptions } from './options';
