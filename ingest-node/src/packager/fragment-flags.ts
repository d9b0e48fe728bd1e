// Flag bits of the track fragment boxes (ISO/IEC 14496-12 §8.8.7 tfhd, §8.8.8 trun): which optional fields are present.

/** tfhd: base_data_offset present. */
export const TFHD_BASE_DATA_OFFSET = 0x000001;
/** tfhd: sample_description_index present. */
export const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002;
/** tfhd: default_sample_duration present. */
export const TFHD_DEFAULT_DURATION = 0x000008;
/** tfhd: default_sample_size present. */
export const TFHD_DEFAULT_SIZE = 0x000010;
/** tfhd: default_sample_flags present. */
export const TFHD_DEFAULT_FLAGS = 0x000020;
/** trun: data_offset present. */
export const TRUN_DATA_OFFSET = 0x000001;
/** trun: first_sample_flags present. */
export const TRUN_FIRST_SAMPLE_FLAGS = 0x000004;
/** trun: each sample has a duration. */
export const TRUN_DURATION = 0x000100;
/** trun: each sample has a size. */
export const TRUN_SIZE = 0x000200;
/** trun: each sample has flags. */
export const TRUN_FLAGS = 0x000400;
/** trun: each sample has a composition time offset (signed in a version 1 trun). */
export const TRUN_COMPOSITION_OFFSET = 0x000800;

/** Bytes per sample entry in a trun with these flags. */
export function trunSampleStride(flags: number): number {
  return 4 * [TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_COMPOSITION_OFFSET].filter((f) => flags & f).length;
}
