package org.align4j.examples;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Product reviews with 1-5 stars for the review-rating task (title and body to stars), as
 * prompt-completion records: {@code "Title: ...\nReview: ...\nStars:"} and {@code " 4"}. The
 * wording of each review leans to its star level, with some noise between neighbouring levels,
 * as real reviews have.
 */
public final class ReviewData {

    private static final List<String> PRODUCTS = List.of("headphones", "coffee maker", "backpack", "phone case",
            "desk lamp", "kettle", "keyboard", "running shoes", "blender", "water bottle", "umbrella", "tent");
    private static final List<List<String>> TITLES = List.of(
            List.of("Total waste of money", "Broke after one day", "Do not buy", "Terrible", "Very disappointed"),
            List.of("Not great", "Below expectations", "Meh, would not buy again", "Poor quality", "Cheap feel"),
            List.of("It's okay", "Average", "Does the job", "Fine for the price", "Mixed feelings"),
            List.of("Pretty good", "Happy with it", "Good value", "Works well", "Nice product"),
            List.of("Absolutely love it", "Perfect!", "Best purchase this year", "Outstanding", "Five stars, easily"));
    private static final List<List<String>> BODY = List.of(
            List.of("It stopped working after a day.", "The {p} arrived broken and support never answered.",
                    "Flimsy and useless.", "I returned it immediately.", "Worst {p} I have ever owned."),
            List.of("The {p} works but feels cheap.", "It does less than advertised.",
                    "Quality is poor and it is noisy.", "I expected much more for this price.",
                    "Some parts broke within a month."),
            List.of("The {p} is fine, nothing special.", "It works, but the design could be better.",
                    "Decent, with a few annoying flaws.", "Does what it says, no more.", "Okay for everyday use."),
            List.of("The {p} works well and looks nice.", "Good quality for the money.",
                    "I use it every day and I am happy.", "Solid and reliable, one small flaw.",
                    "Setup was easy and it works great."),
            List.of("The {p} is excellent in every way.", "Amazing quality, I would buy it again.",
                    "Exceeded all my expectations.", "Perfect, I recommend it to everyone.",
                    "Flawless, the best {p} I have owned."));

    private ReviewData() {
    }

    public static List<ObjectNode> reviews(int n, long seed) {
        ObjectMapper om = new ObjectMapper();
        SplittableRandom r = new SplittableRandom(seed);
        List<ObjectNode> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int stars = 1 + r.nextInt(5);
            // wording mostly from the true level, sometimes from a neighbour
            int titleLevel = clamp(stars - 1 + (r.nextInt(5) == 0 ? (r.nextBoolean() ? 1 : -1) : 0));
            int bodyLevel = clamp(stars - 1 + (r.nextInt(6) == 0 ? (r.nextBoolean() ? 1 : -1) : 0));
            String product = PRODUCTS.get(r.nextInt(PRODUCTS.size()));
            String title = TITLES.get(titleLevel).get(r.nextInt(5));
            String body = BODY.get(bodyLevel).get(r.nextInt(5)).replace("{p}", product) + " "
                    + BODY.get(clamp(bodyLevel + (r.nextBoolean() ? 0 : (r.nextBoolean() ? 1 : -1)))).get(r.nextInt(5))
                    .replace("{p}", product);
            ObjectNode o = om.createObjectNode();
            o.put("prompt", "Title: " + title + "\nReview: " + body + "\nStars:");
            o.put("completion", " " + stars);
            out.add(o);
        }
        return out;
    }

    private static int clamp(int level) {
        return Math.max(0, Math.min(4, level));
    }
}
