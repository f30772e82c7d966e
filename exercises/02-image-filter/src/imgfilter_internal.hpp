// What the files under src/ share. Yours to change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "imgfilter/imgfilter.hpp"

namespace imgfilter::detail {

// ---- One filter pass, split into bands of rows (filters.cpp) ----
//
// apply() is make_output + (for contrast) gray_sum over every row + filter_rows over every row.
// Bands of rows are independent: filter_rows on disjoint bands may run at the same time on the
// same src and dst, because each call writes only its own rows of dst.

// Throws std::invalid_argument when the image's shape or pixel count is wrong, or the filter's
// kernel is invalid.
void check(const Image& image);
void check(const Filter& filter);

// An output image of the right shape for `filter` (one channel for grayscale); its pixels are
// then written by filter_rows.
Image make_output(const Image& src, const Filter& filter);

// Contrast needs the mean of the grayscale image first: the sum of its samples over rows
// [first_row, end_row) of src, and the pivot m from the whole image's sum.
std::uint64_t gray_sum(const Image& src, int first_row, int end_row);
int contrast_pivot(std::uint64_t gray_sum_of_all_rows, std::size_t pixel_count);

// Writes rows [first_row, end_row) of dst. `pivot` is used by contrast only.
void filter_rows(const Image& src, Image& dst, const Filter& filter, int first_row, int end_row,
                 int pivot);

// ---- Strategies (strategies.cpp, processes.cpp) ----

// Runs work(i) for every image i in [0, n) as options.mode says: in images mode on a pool of
// options.jobs threads, else one after another on the calling thread. Each call is a WorkItem
// for the hooks in sequential and images mode. Calls options.on_progress after each image; skips
// the images not started when options.stop is requested (work(i) is then never called).
void for_each_image(std::size_t n, const Options& options,
                    const std::function<void(std::size_t)>& work);

// Applies the chain to image number `index` as options.mode says: on the calling thread
// (sequential, images), in bands shared by options.jobs threads (tiles), or by options.jobs
// processes (processes).
Image filter_chain(const Image& image, const std::vector<Filter>& chain, const Options& options,
                   std::size_t index);

// The bands of rows a pass of an image of `height` rows is split into, for `workers` workers.
std::vector<std::pair<int, int>> bands_for(int height, std::size_t workers, int band_rows);

Image filter_chain_in_processes(const Image& image, const std::vector<Filter>& chain,
                                const Options& options);

void check(const Options& options);

}  // namespace imgfilter::detail
